import type { JWTPayload, JWTVerifyGetKey, JWTVerifyOptions, KeyObject } from 'jose';
import { OAuthError } from '../errors.js';
import type { IdTokenClaims } from '../tokens.js';
import { base64url } from '../crypto/base64url.js';
import { timingSafeEqual } from '../crypto/pkce.js';

/**
 * ID Token validation, OpenID Connect Core 1.0 §3.1.3.7 (and §12.2 on refresh, §3.1.3.8 at_hash).
 * jose verifies the JWS and the registered claims (iss, aud, exp, nbf); the OIDC rules are here.
 * Every failure is `invalid_response` naming the claim at fault (`id_token.aud`); messages name
 * public values only (iss, aud, azp, alg, kid), never the token, the nonce or a key.
 */

/** One definition, beside TokenSet (which carries it): re-exported for this module's users. */
export type { IdTokenClaims } from '../tokens.js';

export interface ValidateIdTokenOptions {
  /** The issuer exactly as discovered/configured: `iss` must equal it byte for byte. */
  issuer: string;
  clientId: string;
  /** Resolves the verification key: `createJwksCache(services).keyFor(jwksUri)`. */
  getKey: JWTVerifyGetKey;
  /** Allowed JWS algorithms, e.g. ['RS256']. `none` and HS* are refused whatever is listed. */
  algorithms: string[];
  /** The current time, epoch ms (the injected clock). */
  now: number;
  /** Skew allowed for exp, iat, nbf and auth_time, in seconds. */
  clockToleranceS: number;
  /** The nonce sent in the authorization request: then the claim must be present and equal. */
  nonce?: string;
  /** The max_age sent: then auth_time is required and must be within it. */
  maxAgeS?: number;
  /** The claims of the ID Token being replaced, on refresh (§12.2). */
  previous?: IdTokenClaims;
  /** The access token issued with it: a present at_hash is checked against it (§3.1.3.8). */
  accessToken?: string;
}

/** jose requires iss and aud itself (the issuer and audience options), before these. */
const REQUIRED_CLAIMS = ['sub', 'exp', 'iat'];
/** The hash of at_hash for each JWS alg family (the alg's own hash; EdDSA/Ed25519 use SHA-512). */
const HASHES: Array<[RegExp, string]> = [
  [/^(RS|PS|ES)256K?$/, 'SHA-256'],
  [/^(RS|PS|ES)384$/, 'SHA-384'],
  [/^(RS|PS|ES)512$/, 'SHA-512'],
  [/^(EdDSA|Ed25519)$/, 'SHA-512'],
];

const fail = (claim: string, problem: string, cause?: unknown) =>
  new OAuthError('invalid_response', `id_token ${claim === '' ? '' : `"${claim}" `}${problem}`, {
    field: claim === '' ? 'id_token' : `id_token.${claim}`,
    retryable: false,
    cause,
  });

/** A short, quoted rendering of a public value (a string) for messages. */
const show = (value: string) => JSON.stringify(value).slice(0, 200);

export async function validateIdToken(idToken: string, options: ValidateIdTokenOptions): Promise<IdTokenClaims> {
  checkOptions(options);
  const alg = await checkHeader(idToken, options.algorithms);
  const verifyOptions: JWTVerifyOptions = {
    algorithms: options.algorithms,
    issuer: options.issuer,
    audience: options.clientId,
    currentDate: new Date(options.now),
    clockTolerance: options.clockToleranceS,
    requiredClaims: REQUIRED_CLAIMS,
  };
  let payload: JWTPayload;
  try {
    payload = await verify(idToken, options.getKey, verifyOptions);
  } catch (error) {
    throw fromJose(error, options);
  }
  const claims = checkTypes(payload);
  checkClaims(claims, options);
  if (options.accessToken !== undefined && claims.at_hash !== undefined) await checkAtHash(claims.at_hash, options.accessToken, alg);
  if (options.previous !== undefined) checkPrevious(claims, options.previous);
  return claims;
}

function checkOptions(options: ValidateIdTokenOptions): void {
  const bad = (field: string, what: string) => new OAuthError('invalid_configuration', `${field} must be ${what}`, { field });
  if (typeof options.issuer !== 'string' || options.issuer === '') throw bad('issuer', 'a non-empty string');
  if (typeof options.clientId !== 'string' || options.clientId === '') throw bad('clientId', 'a non-empty string');
  if (typeof options.getKey !== 'function') throw bad('getKey', 'a function');
  const { algorithms } = options;
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => typeof a === 'string' && a !== '')) {
    throw bad('algorithms', 'a non-empty array of JWS algorithm names');
  }
  // A shared-secret or unsigned ID Token would let anyone holding the client secret (or nobody) mint one.
  if (algorithms.some(refusedAlg)) throw bad('algorithms', 'asymmetric JWS algorithms only: "none" and HS* are never accepted');
  if (!Number.isFinite(options.now)) throw bad('now', 'a finite epoch time in ms');
  if (!Number.isFinite(options.clockToleranceS) || options.clockToleranceS < 0) throw bad('clockToleranceS', 'a non-negative number of seconds');
  if (options.maxAgeS !== undefined && !(Number.isFinite(options.maxAgeS) && options.maxAgeS >= 0)) throw bad('maxAgeS', 'a non-negative number of seconds');
  if (options.nonce !== undefined && (typeof options.nonce !== 'string' || options.nonce === '')) throw bad('nonce', 'a non-empty string');
}

const refusedAlg = (alg: string) => alg.toLowerCase() === 'none' || /^HS/i.test(alg);

/** The unverified header, read only to refuse early what jose must never be asked to verify. */
async function checkHeader(idToken: unknown, algorithms: string[]): Promise<string> {
  if (typeof idToken !== 'string' || idToken === '') throw fail('', 'must be a non-empty string');
  const parts = idToken.split('.').length;
  if (parts === 5) throw fail('', 'is encrypted (a JWE): encrypted id_tokens are not supported');
  if (parts !== 3) throw fail('', 'is not a JWT in JWS compact serialization');
  const { decodeProtectedHeader } = await import('jose/decode/protected_header');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(idToken) as Record<string, unknown>;
  } catch {
    throw fail('', 'has a malformed header');
  }
  if (header.enc !== undefined) throw fail('', 'is encrypted (a JWE): encrypted id_tokens are not supported');
  const { alg } = header;
  if (typeof alg !== 'string' || alg === '') throw fail('alg', 'header is missing');
  if (refusedAlg(alg)) throw fail('alg', `${show(alg)} is refused: unsigned and HMAC id_tokens are never accepted`);
  if (!algorithms.includes(alg)) throw fail('alg', `${show(alg)} is not among the allowed algorithms (${algorithms.join(', ')})`);
  return alg;
}

/**
 * jwtVerify, trying each candidate when the key set has several keys for the token (no `kid`,
 * or a reused one): jose then throws JWKSMultipleMatchingKeys carrying them.
 */
async function verify(idToken: string, getKey: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTPayload> {
  const { jwtVerify } = await import('jose/jwt/verify');
  try {
    return (await jwtVerify(idToken, getKey, options)).payload;
  } catch (error) {
    if (codeOf(error) !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
    const candidates = error as AsyncIterable<CryptoKey | KeyObject>;
    let last: unknown = error;
    for await (const key of candidates) {
      try {
        return (await jwtVerify(idToken, key, options)).payload;
      } catch (attempt) {
        if (codeOf(attempt) !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw attempt;
        last = attempt;
      }
    }
    throw last;
  }
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** jose's errors by their `code` (stable across copies of jose), never by message. */
function fromJose(error: unknown, options: ValidateIdTokenOptions): OAuthError {
  // A JWKS fetch that failed is that failure (network_error, timeout, invalid_response field jwks), not the token's.
  if (error instanceof OAuthError) return error;
  switch (codeOf(error)) {
    case 'ERR_JWT_EXPIRED':
      return fail('exp', `has expired (clock tolerance ${options.clockToleranceS} s)`);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      // A code means an object (codeOf): a getKey may reject with anything, null included.
      const { claim, reason } = error as { claim?: unknown; reason?: unknown };
      const name = typeof claim === 'string' ? claim : '';
      if (reason === 'missing') return fail(name, 'claim is missing');
      if (reason === 'invalid') return fail(name, 'claim must be a number');
      if (name === 'iss') return fail('iss', `is not the expected issuer ${show(options.issuer)}`);
      if (name === 'aud') return fail('aud', `does not contain the client id ${show(options.clientId)}`);
      if (name === 'nbf') return fail('nbf', `is in the future (clock tolerance ${options.clockToleranceS} s)`);
      return fail(name, 'claim check failed');
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return fail('signature', 'does not verify against the issuer\'s key', safeCause(error));
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return fail('alg', `is not among the allowed algorithms (${options.algorithms.join(', ')})`);
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return fail('kid', 'matches no key in the issuer\'s JWKS (even after refetching it)');
    case 'ERR_JOSE_NOT_SUPPORTED':
      return fail('alg', 'uses an algorithm or key type that is not supported', safeCause(error));
    case 'ERR_JWKS_INVALID':
    case 'ERR_JWK_INVALID':
      return new OAuthError('invalid_response', 'the issuer\'s JWKS has an unusable key', { field: 'jwks', cause: safeCause(error) });
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return fail('', 'is not a well-formed signed JWT', safeCause(error));
    default:
      // e.g. jose's TypeError for a key of the wrong type or an RSA key under 2048 bits.
      return fail('signature', 'could not be verified with the issuer\'s key', safeCause(error));
  }
}

/** jose's error as `cause`, unless it carries the claims (JWTClaimValidationFailed, JWTExpired do): they hold the nonce. */
function safeCause(error: unknown): unknown {
  return typeof error === 'object' && error !== null && !('payload' in error) ? error : undefined;
}

/** Checks the types IdTokenClaims promises (the protocol claims); jose has checked iss/aud (values) and exp/iat/nbf (numbers). */
function checkTypes(payload: JWTPayload): IdTokenClaims {
  const c = payload as Record<string, unknown>;
  const isString = (v: unknown) => typeof v === 'string';
  if (typeof c.sub !== 'string' || c.sub === '') throw fail('sub', 'must be a non-empty string');
  // jose has checked that aud is the client id or an array that contains it: the other members must be strings too.
  if (Array.isArray(c.aud) && !c.aud.every(isString)) throw fail('aud', 'must be a string or a non-empty array of strings');
  const optional: Array<[string, (v: unknown) => boolean, string]> = [
    ['nonce', isString, 'a string'],
    ['azp', isString, 'a string'],
    ['auth_time', Number.isFinite, 'a number'],
    ['acr', isString, 'a string'],
    ['amr', (v) => Array.isArray(v) && v.every(isString), 'an array of strings'],
    ['at_hash', isString, 'a string'],
    ['sid', isString, 'a string'],
  ];
  // Profile claims (name, email, email_verified …) are returned as sent, unchecked and typed
  // unknown: providers differ (some send email_verified as "true"), and no protocol rule rests on them.
  for (const [name, ok, what] of optional) if (c[name] !== undefined && !ok(c[name])) throw fail(name, `claim must be ${what}`);
  return c as IdTokenClaims;
}

/** §3.1.3.7 rules 4-5, 10, 11 and 13 (jose did 2, 3, 6, 7 and 9). */
function checkClaims(claims: IdTokenClaims, options: ValidateIdTokenOptions): void {
  const { clientId, now, clockToleranceS } = options;
  const toleranceMs = clockToleranceS * 1000;
  const tolerance = `(clock tolerance ${clockToleranceS} s)`;
  if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp === undefined) {
    throw fail('azp', 'claim is required when "aud" has several values');
  }
  if (claims.azp !== undefined && claims.azp !== clientId) throw fail('azp', `is ${show(claims.azp)}, not the client id ${show(clientId)}`);
  if (claims.iat * 1000 > now + toleranceMs) throw fail('iat', `is in the future ${tolerance}`);
  if (options.nonce !== undefined) {
    if (claims.nonce === undefined) throw fail('nonce', 'claim is missing, but a nonce was sent');
    if (!timingSafeEqual(claims.nonce, options.nonce)) throw fail('nonce', 'does not match the nonce sent');
  }
  if (claims.auth_time !== undefined && claims.auth_time * 1000 > now + toleranceMs) throw fail('auth_time', `is in the future ${tolerance}`);
  if (options.maxAgeS !== undefined) {
    if (claims.auth_time === undefined) throw fail('auth_time', 'claim is required when max_age was requested');
    if (now > (claims.auth_time + options.maxAgeS + clockToleranceS) * 1000) {
      throw fail('auth_time', `is more than max_age (${options.maxAgeS} s) ago ${tolerance}: the user must authenticate again`);
    }
  }
}

/** §3.1.3.8: base64url of the left half of the access token's hash by the alg's hash function. */
async function checkAtHash(atHash: string, accessToken: string, alg: string): Promise<void> {
  const hash = HASHES.find(([pattern]) => pattern.test(alg))?.[1];
  if (hash === undefined) throw fail('at_hash', `cannot be checked for alg ${show(alg)}`);
  const digest = new Uint8Array(await crypto.subtle.digest(hash, new TextEncoder().encode(accessToken)));
  const expected = base64url(digest.subarray(0, digest.length / 2));
  if (!timingSafeEqual(atHash, expected)) throw fail('at_hash', 'does not match the access token');
}

/** §12.2: a refreshed ID Token is about the same authentication as the one it replaces. */
function checkPrevious(claims: IdTokenClaims, previous: IdTokenClaims): void {
  const same = (claim: string) => fail(claim, 'differs from the previous id_token\'s (OIDC Core §12.2)');
  if (claims.iss !== previous.iss) throw same('iss');
  if (claims.sub !== previous.sub) throw same('sub');
  const audiences = (aud: string | string[]) => new Set(Array.isArray(aud) ? aud : [aud]);
  const now = audiences(claims.aud);
  const before = audiences(previous.aud);
  if (now.size !== before.size || [...now].some((a) => !before.has(a))) throw same('aud');
  if (claims.azp !== previous.azp) throw same('azp');
  if (claims.auth_time !== undefined && previous.auth_time !== undefined && claims.auth_time !== previous.auth_time) throw same('auth_time');
  // §12.2 names no nonce rule; servers that repeat one repeat the original: another is another session's token.
  if (claims.nonce !== undefined && previous.nonce !== undefined && !timingSafeEqual(claims.nonce, previous.nonce)) throw same('nonce');
}
