import { REDACTED } from './secret.js';

/**
 * TokenSet: what every grant returns, whatever the provider calls its credential.
 *
 * Inside the machines (context, actor outputs, machine output) a TokenSet is sealed
 * (`sealTokenSet`): its credential, refresh token and extra fields are read by name as usual,
 * but they are not own properties, so JSON, structured clone, the console and every inspector
 * see `[redacted]` or nothing. The facade returns plain sets (`plainTokenSet`), which the app owns.
 */
export interface TokenSet {
  /** The credential: `access_token`, Poe's `api_key`, OpenRouter's and EUrouter's `key`. */
  accessToken: string;
  tokenType: string;
  /** Epoch milliseconds; absent when the credential does not expire. */
  expiresAt?: number;
  /**
   * Epoch milliseconds when the token endpoint answered, set beside `expiresAt`: the two give the
   * token's lifetime, which sizes its refresh window (a 10 s token is not refreshed on every call).
   */
  issuedAt?: number;
  refreshToken?: string;
  scopes?: string[];
  /** The response fields the provider's data says to keep (EUrouter's `user_id`). */
  extra: Record<string, unknown>;
  /**
   * OpenID Connect: the claims of the id_token, validated (signature, iss, aud, azp, exp, iat,
   * nonce) before the set was returned. Kept out of every inspector, like the tokens.
   */
  idTokenClaims?: IdTokenClaims;
}

/**
 * The claims of a validated id_token (OpenID Connect Core 1.0 §2). The protocol claims are typed
 * and their types checked; profile claims (`name`, `email`, `email_verified` …) are as the
 * provider sent them, typed unknown: narrow them before use.
 */
export interface IdTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nonce?: string;
  azp?: string;
  auth_time?: number;
  acr?: string;
  amr?: string[];
  at_hash?: string;
  sid?: string;
  [claim: string]: unknown;
}

interface Hidden {
  accessToken: string;
  refreshToken: string | undefined;
  extra: Record<string, unknown>;
  idTokenClaims: IdTokenClaims | undefined;
}

const hidden = new WeakMap<object, Hidden>();
const nodeInspect = Symbol.for('nodejs.util.inspect.custom');

/** What a sealed set shows: which fields exist, never their values. */
function redactedView(tokens: TokenSet): Record<string, unknown> {
  const secret = hidden.get(tokens)!;
  return {
    accessToken: REDACTED,
    tokenType: tokens.tokenType,
    ...(tokens.expiresAt === undefined ? {} : { expiresAt: tokens.expiresAt }),
    ...(tokens.issuedAt === undefined ? {} : { issuedAt: tokens.issuedAt }),
    ...(secret.refreshToken === undefined ? {} : { refreshToken: REDACTED }),
    ...(tokens.scopes === undefined ? {} : { scopes: tokens.scopes }),
    extra: Object.fromEntries(Object.keys(secret.extra).map((key) => [key, REDACTED])),
    ...(secret.idTokenClaims === undefined ? {} : { idTokenClaims: REDACTED }),
  };
}

const sealedPrototype: object = Object.create(Object.prototype, {
  accessToken: { get: function (this: object) { return hidden.get(this)?.accessToken; } },
  refreshToken: { get: function (this: object) { return hidden.get(this)?.refreshToken; } },
  extra: { get: function (this: object) { return hidden.get(this)?.extra; } },
  idTokenClaims: { get: function (this: object) { return hidden.get(this)?.idTokenClaims; } },
  toJSON: { value: function (this: TokenSet) { return redactedView(this); } },
  [nodeInspect]: { value: function (this: TokenSet) { return redactedView(this); } },
});

export function isSealedTokenSet(value: unknown): boolean {
  return typeof value === 'object' && value !== null && hidden.has(value);
}

/** The same TokenSet with its secrets out of reach of every serializer (see TokenSet). */
export function sealTokenSet(tokens: TokenSet): TokenSet {
  if (isSealedTokenSet(tokens)) return tokens;
  const sealed = Object.create(sealedPrototype) as Record<string, unknown>;
  sealed.tokenType = tokens.tokenType;
  if (tokens.expiresAt !== undefined) sealed.expiresAt = tokens.expiresAt;
  if (tokens.issuedAt !== undefined) sealed.issuedAt = tokens.issuedAt;
  if (tokens.scopes !== undefined) sealed.scopes = Object.freeze([...tokens.scopes]);
  hidden.set(sealed, {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    extra: Object.freeze({ ...tokens.extra }),
    idTokenClaims: tokens.idTokenClaims === undefined ? undefined : deepFreeze(structuredClone(tokens.idTokenClaims)),
  });
  return Object.freeze(sealed) as unknown as TokenSet;
}

/** A plain copy of a TokenSet, sealed or not: what the app gets, and what storage holds. */
export function plainTokenSet(tokens: TokenSet): TokenSet {
  const plain: TokenSet = { accessToken: tokens.accessToken, tokenType: tokens.tokenType, extra: { ...tokens.extra } };
  if (tokens.expiresAt !== undefined) plain.expiresAt = tokens.expiresAt;
  if (tokens.issuedAt !== undefined) plain.issuedAt = tokens.issuedAt;
  if (tokens.refreshToken !== undefined) plain.refreshToken = tokens.refreshToken;
  if (tokens.scopes !== undefined) plain.scopes = [...tokens.scopes];
  // Claims may nest (address): a deep copy, so the app's set shares nothing with grantflow's.
  if (tokens.idTokenClaims !== undefined) plain.idTokenClaims = structuredClone(tokens.idTokenClaims);
  return plain;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/**
 * RFC 6749 §5.1: a response that omits `scope` was granted the scope requested. Returns the set
 * with the requested scopes filled in (nothing requested: left as it is).
 */
export function withRequestedScopes(tokens: TokenSet, requested: readonly string[]): TokenSet {
  if (tokens.scopes !== undefined || requested.length === 0) return tokens;
  return { ...plainTokenSet(tokens), scopes: [...requested] };
}
