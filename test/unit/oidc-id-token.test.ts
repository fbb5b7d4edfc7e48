import { CompactSign, errors as joseErrors, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTVerifyGetKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/errors.js';
import { base64url } from '../../src/crypto/base64url.js';
import { createJwksCache, createNonce, validateIdToken, type IdTokenClaims, type ValidateIdTokenOptions } from '../../src/oidc/index.js';
import { resolveServices } from '../../src/services/defaults.js';

const ISSUER = 'https://op.example';
const CLIENT = 'client-1';
const JWKS_URI = 'https://op.example/jwks';
const NOW_S = 1_700_000_000;
const NOW = NOW_S * 1000;
const TOLERANCE = 30;
const NONCE = 'n-0S6_WzA2Mj-secret-nonce-value';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let main: KeyPair;
let other: KeyPair;
let rs384: KeyPair;
let es256: KeyPair;
let third: KeyPair;
let getKey: JWTVerifyGetKey;

const jwk = async (pair: KeyPair, kid: string | undefined, alg: string): Promise<JWK> => ({ ...(await exportJWK(pair.publicKey)), ...(kid ? { kid } : {}), alg, use: 'sig' });

beforeAll(async () => {
  [main, other, rs384, es256, third] = await Promise.all([generateKeyPair('RS256'), generateKeyPair('RS256'), generateKeyPair('RS384'), generateKeyPair('ES256'), generateKeyPair('RS256')]);
  const keys = await Promise.all([jwk(main, 'k1', 'RS256'), jwk(rs384, 'k384', 'RS384'), jwk(es256, 'kes', 'ES256')]);
  const services = resolveServices({ http: async () => Response.json({ keys }), clock: { now: () => NOW } });
  getKey = createJwksCache(services).keyFor(JWKS_URI);
});

const baseClaims = (): Record<string, unknown> => ({ iss: ISSUER, sub: 'user-1', aud: CLIENT, exp: NOW_S + 300, iat: NOW_S, nonce: NONCE });

/** A signed ID Token: claims set to `undefined` are left out. */
async function idToken(overrides: Record<string, unknown> = {}, sign: { key?: KeyPair; kid?: string | null; alg?: string } = {}): Promise<string> {
  const claims = Object.fromEntries(Object.entries({ ...baseClaims(), ...overrides }).filter(([, v]) => v !== undefined));
  const kid = sign.kid === null ? undefined : (sign.kid ?? 'k1');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: sign.alg ?? 'RS256', ...(kid ? { kid } : {}) })
    .sign((sign.key ?? main).privateKey);
}

const options = (extra: Partial<ValidateIdTokenOptions> = {}): ValidateIdTokenOptions => ({
  issuer: ISSUER,
  clientId: CLIENT,
  getKey,
  algorithms: ['RS256'],
  now: NOW,
  clockToleranceS: TOLERANCE,
  nonce: NONCE,
  ...extra,
});

/** The refusal, checked to be an invalid_response that echoes neither the token nor the nonce. */
async function refused(token: string, opts: ValidateIdTokenOptions = options()): Promise<OAuthError> {
  try {
    await validateIdToken(token, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    const e = error as OAuthError;
    const everything = `${e.message} ${JSON.stringify(e)} ${e.description ?? ''}`;
    if (token !== '') expect(everything).not.toContain(token);
    for (const part of token.split('.')) if (part.length > 8) expect(everything).not.toContain(part);
    expect(everything).not.toContain(NONCE);
    if (opts.nonce) expect(everything).not.toContain(opts.nonce);
    return e;
  }
  throw new Error('expected the id_token to be refused');
}

async function expectField(token: string, field: string, opts?: ValidateIdTokenOptions): Promise<OAuthError> {
  const error = await refused(token, opts);
  expect(error.code).toBe('invalid_response');
  expect(error.field).toBe(field);
  expect(error.retryable).toBe(false);
  return error;
}

const unsigned = (header: object, claims: object, signature = '') =>
  `${base64url(new TextEncoder().encode(JSON.stringify(header)))}.${base64url(new TextEncoder().encode(JSON.stringify(claims)))}.${signature}`;

describe('validateIdToken: the valid token', () => {
  it('returns the claims of a well-formed, well-signed token', async () => {
    const claims = await validateIdToken(await idToken({ email: 'a@b.example', email_verified: true, amr: ['pwd'] }), options());
    expect(claims).toMatchObject({ iss: ISSUER, sub: 'user-1', aud: CLIENT, nonce: NONCE, email_verified: true, amr: ['pwd'] });
  });
  it('accepts another allowed asymmetric alg (ES256) when listed', async () => {
    await expect(validateIdToken(await idToken({}, { key: es256, kid: 'kes', alg: 'ES256' }), options({ algorithms: ['RS256', 'ES256'] }))).resolves.toMatchObject({ sub: 'user-1' });
  });
});

describe('validateIdToken: signature and algorithm', () => {
  it('a token signed by another key under a known kid: id_token.signature', async () => {
    await expectField(await idToken({}, { key: other }), 'id_token.signature');
  });
  it('a tampered payload: id_token.signature', async () => {
    const [h, , s] = (await idToken()).split('.');
    const forged = `${h}.${base64url(new TextEncoder().encode(JSON.stringify({ ...baseClaims(), sub: 'admin' })))}.${s}`;
    await expectField(forged, 'id_token.signature');
  });
  it('alg none is refused even with an empty signature; "none" cannot be allowed', async () => {
    const token = unsigned({ alg: 'none' }, baseClaims());
    const error = await expectField(token, 'id_token.alg');
    expect(error.message).toMatch(/never accepted/);
    await expect(validateIdToken(token, options({ algorithms: ['none'] }))).rejects.toMatchObject({ code: 'invalid_configuration', field: 'algorithms' });
  });
  it('HS256 (signed with a shared secret) is refused; HS* cannot be allowed', async () => {
    const secret = new TextEncoder().encode('client-secret-client-secret-client-secret');
    const token = await new SignJWT(baseClaims()).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    await expectField(token, 'id_token.alg');
    const secretKey: JWTVerifyGetKey = async () => secret;
    await expect(validateIdToken(token, options({ algorithms: ['HS256'], getKey: secretKey }))).rejects.toMatchObject({ code: 'invalid_configuration', field: 'algorithms' });
    await expect(validateIdToken(token, options({ algorithms: ['RS256', 'hs256'] }))).rejects.toMatchObject({ code: 'invalid_configuration', field: 'algorithms' });
  });
  it('an asymmetric alg that is not in `algorithms`: id_token.alg', async () => {
    await expectField(await idToken({}, { key: es256, kid: 'kes', alg: 'ES256' }), 'id_token.alg');
  });
  it('an unknown kid (not in the JWKS): id_token.kid', async () => {
    await expectField(await idToken({}, { key: other, kid: 'unknown' }), 'id_token.kid');
  });
  it('a JWKS fetch failure stays that failure (retryable network_error), not a token error', async () => {
    const services = resolveServices({ http: async () => { throw new TypeError('fetch failed'); }, clock: { now: () => NOW } });
    const failing = createJwksCache(services).keyFor(JWKS_URI);
    await expect(validateIdToken(await idToken(), options({ getKey: failing }))).rejects.toMatchObject({ code: 'network_error', retryable: true });
  });
  it('several keys match a token without kid: each is tried, the one that verifies wins', async () => {
    const keys = [await jwk(other, undefined, 'RS256'), await jwk(main, undefined, 'RS256')];
    const services = resolveServices({ http: async () => Response.json({ keys }), clock: { now: () => NOW } });
    const noKid = createJwksCache(services).keyFor(JWKS_URI);
    await expect(validateIdToken(await idToken({}, { kid: null }), options({ getKey: noKid }))).resolves.toMatchObject({ sub: 'user-1' });
    await expectField(await idToken({}, { kid: null, key: third }), 'id_token.signature', options({ getKey: noKid }));
  });
});

describe('validateIdToken: form', () => {
  it('a JWE (five parts) is refused as unsupported', async () => {
    const error = await expectField('eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d', 'id_token');
    expect(error.message).toMatch(/encrypted id_tokens are not supported/);
  });
  it('not a JWT, or a header that is not JSON: id_token', async () => {
    await expectField('not-a-jwt', 'id_token');
    await expectField('bm90IGpzb24.e30.sig', 'id_token');
    await expectField('', 'id_token');
  });
  it('a header with enc (a JWE shape in three parts) is refused as encrypted', async () => {
    const error = await expectField(unsigned({ alg: 'RS256', enc: 'A256GCM' }, baseClaims(), 'c2ln'), 'id_token');
    expect(error.message).toMatch(/encrypted/);
  });
});

describe('validateIdToken: iss', () => {
  it('must equal the issuer exactly (a trailing slash is another issuer)', async () => {
    const error = await expectField(await idToken({ iss: `${ISSUER}/` }), 'id_token.iss');
    expect(error.message).toContain(ISSUER);
    await expectField(await idToken({ iss: 'https://evil.example' }), 'id_token.iss');
  });
  it('must be present', async () => {
    await expectField(await idToken({ iss: undefined }), 'id_token.iss');
  });
});

describe('validateIdToken: aud and azp', () => {
  it('aud must contain the client id', async () => {
    await expectField(await idToken({ aud: 'other-client' }), 'id_token.aud');
    await expectField(await idToken({ aud: undefined }), 'id_token.aud');
    await expect(validateIdToken(await idToken({ aud: [CLIENT] }), options())).resolves.toBeTruthy();
  });
  it('several audiences require azp; with azp = client id they pass', async () => {
    await expectField(await idToken({ aud: [CLIENT, 'api'] }), 'id_token.azp');
    await expect(validateIdToken(await idToken({ aud: [CLIENT, 'api'], azp: CLIENT }), options())).resolves.toMatchObject({ azp: CLIENT });
  });
  it('a present azp must equal the client id, even with one audience', async () => {
    const error = await expectField(await idToken({ aud: [CLIENT, 'api'], azp: 'api' }), 'id_token.azp');
    expect(error.message).toContain('"api"');
    await expectField(await idToken({ azp: 'other' }), 'id_token.azp');
    await expect(validateIdToken(await idToken({ azp: CLIENT }), options())).resolves.toBeTruthy();
  });
});

describe('validateIdToken: exp, iat, nbf and the tolerance', () => {
  it('exp: refused exactly at exp + tolerance, accepted 1 ms before', async () => {
    const token = await idToken({ exp: NOW_S, iat: NOW_S - 60 });
    await expectField(token, 'id_token.exp', options({ now: (NOW_S + TOLERANCE) * 1000 }));
    await expect(validateIdToken(token, options({ now: (NOW_S + TOLERANCE) * 1000 - 1 }))).resolves.toBeTruthy();
    await expectField(token, 'id_token.exp', options({ now: NOW_S * 1000, clockToleranceS: 0 }));
  });
  it('exp must be present and a number', async () => {
    await expectField(await idToken({ exp: undefined }), 'id_token.exp');
    await expectField(await idToken({ exp: 'tomorrow' }), 'id_token.exp');
  });
  it('iat: accepted exactly at now + tolerance, refused 1 s beyond; required', async () => {
    await expect(validateIdToken(await idToken({ iat: NOW_S + TOLERANCE }), options())).resolves.toBeTruthy();
    await expectField(await idToken({ iat: NOW_S + TOLERANCE + 1 }), 'id_token.iat');
    await expectField(await idToken({ iat: NOW_S + 1 }), 'id_token.iat', options({ clockToleranceS: 0 }));
    await expectField(await idToken({ iat: undefined }), 'id_token.iat');
  });
  it('nbf beyond the tolerance is refused; within it accepted', async () => {
    await expectField(await idToken({ nbf: NOW_S + TOLERANCE + 1 }), 'id_token.nbf');
    await expect(validateIdToken(await idToken({ nbf: NOW_S + TOLERANCE }), options())).resolves.toBeTruthy();
  });
});

describe('validateIdToken: sub', () => {
  it('must be a non-empty string', async () => {
    await expectField(await idToken({ sub: undefined }), 'id_token.sub');
    await expectField(await idToken({ sub: '' }), 'id_token.sub');
    await expectField(await idToken({ sub: 42 }), 'id_token.sub');
  });
});

describe('validateIdToken: nonce', () => {
  it('when expected: missing or different is refused, and the message names neither nonce', async () => {
    expect((await expectField(await idToken({ nonce: undefined }), 'id_token.nonce')).message).toMatch(/missing/);
    const wrong = `${NONCE}x`;
    const error = await expectField(await idToken({ nonce: wrong }), 'id_token.nonce');
    expect(error.message).not.toContain(wrong);
    await expectField(await idToken({ nonce: NONCE.slice(0, -1) }), 'id_token.nonce');
    await expectField(await idToken({ nonce: 'x'.repeat(NONCE.length) }), 'id_token.nonce');
  });
  it('when not expected, a nonce claim is not checked', async () => {
    await expect(validateIdToken(await idToken({ nonce: 'whatever' }), options({ nonce: undefined }))).resolves.toBeTruthy();
  });
  it('a nonce claim that is not a string is refused', async () => {
    await expectField(await idToken({ nonce: 1 }), 'id_token.nonce', options({ nonce: undefined }));
  });
});

describe('validateIdToken: auth_time and max_age', () => {
  const authTime = NOW_S - 600;
  it('with maxAgeS, auth_time is required', async () => {
    await expectField(await idToken(), 'id_token.auth_time', options({ maxAgeS: 3600 }));
  });
  it('accepted exactly at auth_time + max_age + tolerance, refused 1 ms later', async () => {
    const token = await idToken({ auth_time: authTime, iat: authTime, exp: authTime + 3600 });
    const edge = (authTime + 300 + TOLERANCE) * 1000;
    await expect(validateIdToken(token, options({ maxAgeS: 300, now: edge }))).resolves.toMatchObject({ auth_time: authTime });
    await expectField(token, 'id_token.auth_time', options({ maxAgeS: 300, now: edge + 1 }));
    await expectField(token, 'id_token.auth_time', options({ maxAgeS: 300, clockToleranceS: 0, now: (authTime + 300) * 1000 + 1 }));
  });
  it('without maxAgeS an old auth_time is fine; one in the future beyond the tolerance is not', async () => {
    await expect(validateIdToken(await idToken({ auth_time: NOW_S - 86_400 * 30 }), options())).resolves.toBeTruthy();
    await expectField(await idToken({ auth_time: NOW_S + TOLERANCE + 1 }), 'id_token.auth_time');
    await expectField(await idToken({ auth_time: 'yesterday' }), 'id_token.auth_time');
  });
});

describe('validateIdToken: at_hash', () => {
  const leftHalf = async (hash: string, token: string) => {
    const digest = new Uint8Array(await crypto.subtle.digest(hash, new TextEncoder().encode(token)));
    return base64url(digest.subarray(0, digest.length / 2));
  };
  it('RS256: the left half of SHA-256, base64url; a wrong one is refused', async () => {
    const accessToken = 'access-token-value';
    const atHash = await leftHalf('SHA-256', accessToken);
    expect(atHash).toHaveLength(22);
    await expect(validateIdToken(await idToken({ at_hash: atHash }), options({ accessToken }))).resolves.toMatchObject({ at_hash: atHash });
    const error = await expectField(await idToken({ at_hash: atHash }), 'id_token.at_hash', options({ accessToken: 'another-token' }));
    expect(error.message).not.toContain('another-token');
  });
  it('RS384: the hash named by the alg (SHA-384), not SHA-256', async () => {
    const accessToken = 'access-token-384';
    const opts = options({ accessToken, algorithms: ['RS384'] });
    await expect(validateIdToken(await idToken({ at_hash: await leftHalf('SHA-384', accessToken) }, { key: rs384, kid: 'k384', alg: 'RS384' }), opts)).resolves.toBeTruthy();
    await expectField(await idToken({ at_hash: await leftHalf('SHA-256', accessToken) }, { key: rs384, kid: 'k384', alg: 'RS384' }), 'id_token.at_hash', opts);
  });
  it('absent at_hash, or no access token given: not checked', async () => {
    await expect(validateIdToken(await idToken(), options({ accessToken: 'x' }))).resolves.toBeTruthy();
    await expect(validateIdToken(await idToken({ at_hash: 'garbage' }), options())).resolves.toBeTruthy();
  });
});

describe('validateIdToken: refresh (OIDC Core §12.2)', () => {
  const previousOf = async (overrides: Record<string, unknown> = {}): Promise<IdTokenClaims> => validateIdToken(await idToken(overrides), options({ nonce: undefined }));
  const refreshed = (overrides: Record<string, unknown> = {}) => idToken({ nonce: undefined, ...overrides });
  it('same iss, sub, aud, azp and auth_time: accepted', async () => {
    const previous = await previousOf({ auth_time: NOW_S - 100, azp: CLIENT });
    await expect(validateIdToken(await refreshed({ auth_time: NOW_S - 100, azp: CLIENT, iat: NOW_S + 5 }), options({ nonce: undefined, previous }))).resolves.toBeTruthy();
  });
  it('a different sub or iss is refused', async () => {
    const previous = await previousOf();
    await expectField(await refreshed({ sub: 'user-2' }), 'id_token.sub', options({ nonce: undefined, previous }));
    await expectField(await refreshed(), 'id_token.iss', options({ nonce: undefined, previous: { ...previous, iss: 'https://old.example' } }));
  });
  it('azp: absent in both or equal; one side only is refused', async () => {
    const withAzp = await previousOf({ azp: CLIENT });
    await expectField(await refreshed(), 'id_token.azp', options({ nonce: undefined, previous: withAzp }));
    await expectField(await refreshed({ azp: CLIENT }), 'id_token.azp', options({ nonce: undefined, previous: await previousOf() }));
  });
  it('auth_time: when in both, equal; in one only, not compared', async () => {
    const previous = await previousOf({ auth_time: NOW_S - 100 });
    await expectField(await refreshed({ auth_time: NOW_S - 50 }), 'id_token.auth_time', options({ nonce: undefined, previous }));
    await expect(validateIdToken(await refreshed(), options({ nonce: undefined, previous }))).resolves.toBeTruthy();
  });
  it('aud must be the same set of audiences', async () => {
    const previous = await previousOf({ aud: [CLIENT, 'api'], azp: CLIENT });
    await expectField(await refreshed({ aud: CLIENT, azp: CLIENT }), 'id_token.aud', options({ nonce: undefined, previous }));
    await expect(validateIdToken(await refreshed({ aud: ['api', CLIENT], azp: CLIENT }), options({ nonce: undefined, previous }))).resolves.toBeTruthy();
  });
});

describe('validateIdToken: claim types promised by IdTokenClaims', () => {
  it('refuses a protocol claim of the wrong type', async () => {
    await expectField(await idToken({ amr: 'pwd' }), 'id_token.amr');
    await expectField(await idToken({ auth_time: '1700000000' }), 'id_token.auth_time');
    await expectField(await idToken({ aud: [] }), 'id_token.aud');
  });
});

it('returns profile claims as sent, unchecked: a provider may send email_verified as a string', async () => {
  const claims = await validateIdToken(await idToken({ email_verified: 'true', email: 'a@example.test' }), options());
  expect(claims.email_verified).toBe('true');
  expect(claims.email).toBe('a@example.test');
});

describe('validateIdToken: options', () => {
  it('refuses unusable options as invalid_configuration', async () => {
    const token = await idToken();
    await expect(validateIdToken(token, options({ algorithms: [] }))).rejects.toMatchObject({ code: 'invalid_configuration', field: 'algorithms' });
    await expect(validateIdToken(token, options({ clockToleranceS: -1 }))).rejects.toMatchObject({ code: 'invalid_configuration', field: 'clockToleranceS' });
    await expect(validateIdToken(token, options({ now: Number.NaN }))).rejects.toMatchObject({ code: 'invalid_configuration', field: 'now' });
  });
});

describe('createNonce', () => {
  it('is 32 random bytes as base64url (43 characters), from the injected random', () => {
    const bytes = new Uint8Array(32).map((_, i) => i * 7);
    expect(createNonce(() => bytes)).toBe(base64url(bytes));
    expect(createNonce(resolveServices().random)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createNonce(resolveServices().random)).not.toBe(createNonce(resolveServices().random));
  });
  it('refuses a random service that returns the wrong number of bytes', () => {
    expect(() => createNonce(() => new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'services.random' }));
  });
});

/** The refusal's message, checked to be an invalid_response on `field` like expectField. */
const messageOf = async (token: string, field: string, opts?: ValidateIdTokenOptions) => (await expectField(token, field, opts)).message;

/** A token over raw payload bytes (JSON that JSON.stringify cannot write, or not JSON at all). */
const rawToken = (payload: string, header: Record<string, unknown> = { alg: 'RS256', kid: 'k1' }, key: KeyPair = main) =>
  new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader(header as { alg: string }).sign(key.privateKey);

/** A getKey that rejects with `error`: how a custom getKey (or another copy of jose) reports. */
const rejecting = (error: unknown): JWTVerifyGetKey => async () => {
  throw error;
};

describe('validateIdToken: options are refused as invalid_configuration naming the field, before the token is read', () => {
  const cases: Array<[string, Partial<ValidateIdTokenOptions>, string, string]> = [
    ['an empty issuer', { issuer: '' }, 'issuer', 'issuer must be a non-empty string'],
    ['an issuer that is not a string', { issuer: 42 as unknown as string }, 'issuer', 'issuer must be a non-empty string'],
    ['an empty clientId', { clientId: '' }, 'clientId', 'clientId must be a non-empty string'],
    ['a clientId that is not a string', { clientId: undefined as unknown as string }, 'clientId', 'clientId must be a non-empty string'],
    ['a getKey that is not a function', { getKey: {} as unknown as JWTVerifyGetKey }, 'getKey', 'getKey must be a function'],
    ['algorithms that is not an array', { algorithms: 'RS256' as unknown as string[] }, 'algorithms', 'algorithms must be a non-empty array of JWS algorithm names'],
    ['no algorithms', { algorithms: [] }, 'algorithms', 'algorithms must be a non-empty array of JWS algorithm names'],
    ['an empty algorithm name', { algorithms: ['RS256', ''] }, 'algorithms', 'algorithms must be a non-empty array of JWS algorithm names'],
    ['an algorithm name that is not a string', { algorithms: ['RS256', 256 as unknown as string] }, 'algorithms', 'algorithms must be a non-empty array of JWS algorithm names'],
    ['"none" in any case', { algorithms: ['RS256', 'None'] }, 'algorithms', 'algorithms must be asymmetric JWS algorithms only: "none" and HS* are never accepted'],
    ['an HMAC alg', { algorithms: ['HS512', 'RS256'] }, 'algorithms', 'algorithms must be asymmetric JWS algorithms only: "none" and HS* are never accepted'],
    ['a now that is NaN', { now: Number.NaN }, 'now', 'now must be a finite epoch time in ms'],
    ['a now that is Infinity', { now: Number.POSITIVE_INFINITY }, 'now', 'now must be a finite epoch time in ms'],
    ['a now that is a string', { now: String(NOW) as unknown as number }, 'now', 'now must be a finite epoch time in ms'],
    ['a negative clockToleranceS', { clockToleranceS: -1 }, 'clockToleranceS', 'clockToleranceS must be a non-negative number of seconds'],
    ['a clockToleranceS that is NaN', { clockToleranceS: Number.NaN }, 'clockToleranceS', 'clockToleranceS must be a non-negative number of seconds'],
    ['an infinite clockToleranceS', { clockToleranceS: Number.POSITIVE_INFINITY }, 'clockToleranceS', 'clockToleranceS must be a non-negative number of seconds'],
    ['a negative maxAgeS', { maxAgeS: -1 }, 'maxAgeS', 'maxAgeS must be a non-negative number of seconds'],
    ['a maxAgeS that is NaN', { maxAgeS: Number.NaN }, 'maxAgeS', 'maxAgeS must be a non-negative number of seconds'],
    ['an infinite maxAgeS', { maxAgeS: Number.POSITIVE_INFINITY }, 'maxAgeS', 'maxAgeS must be a non-negative number of seconds'],
    ['an empty nonce', { nonce: '' }, 'nonce', 'nonce must be a non-empty string'],
    ['a nonce that is not a string', { nonce: 42 as unknown as string }, 'nonce', 'nonce must be a non-empty string'],
  ];
  it.each(cases)('%s', async (_name, bad, field, message) => {
    // A token that the options would otherwise accept: only the option at fault is refused.
    const token = await idToken({ auth_time: NOW_S });
    const error = await validateIdToken(token, options(bad)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ code: 'invalid_configuration', field, message });
    await expect(validateIdToken('not-a-jwt', options(bad))).rejects.toMatchObject({ code: 'invalid_configuration', field });
  });
  it('accepts the edges: no clock tolerance, max_age 0, several asymmetric algs', async () => {
    await expect(validateIdToken(await idToken({ auth_time: NOW_S }), options({ clockToleranceS: 0, maxAgeS: 0 }))).resolves.toMatchObject({ auth_time: NOW_S });
    await expect(validateIdToken(await idToken(), options({ algorithms: ['PS256', 'RS256', 'ES256', 'EdDSA'] }))).resolves.toBeTruthy();
  });
});

describe('validateIdToken: the header, read before anything is verified', () => {
  it('a token that is not a string is refused as id_token', async () => {
    for (const token of [undefined, 42, null]) {
      const error = await validateIdToken(token as unknown as string, options()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OAuthError);
      expect(error).toMatchObject({ code: 'invalid_response', field: 'id_token', message: 'id_token must be a non-empty string', retryable: false });
    }
    expect((await refused('')).message).toBe('id_token must be a non-empty string');
  });
  it('names what is wrong with the form', async () => {
    expect(await messageOf('a.b.c.d.e', 'id_token')).toBe('id_token is encrypted (a JWE): encrypted id_tokens are not supported');
    expect(await messageOf(unsigned({ alg: 'RSA-OAEP', enc: 'A256GCM' }, baseClaims(), 'c2ln'), 'id_token')).toBe('id_token is encrypted (a JWE): encrypted id_tokens are not supported');
    for (const token of ['a.b', 'a.b.c.d', 'a.b.c.d.e.f']) expect(await messageOf(token, 'id_token')).toBe('id_token is not a JWT in JWS compact serialization');
    expect(await messageOf('bm90IGpzb24.e30.sig', 'id_token')).toBe('id_token has a malformed header');
  });
  it('a header without a usable alg: id_token.alg "header is missing"', async () => {
    for (const header of [{ typ: 'JWT' }, { alg: '' }, { alg: 256 }]) {
      expect(await messageOf(unsigned(header, baseClaims(), 'c2ln'), 'id_token.alg')).toBe('id_token "alg" header is missing');
    }
  });
  it('a refused alg is named, in any case', async () => {
    expect(await messageOf(unsigned({ alg: 'none' }, baseClaims()), 'id_token.alg')).toBe('id_token "alg" "none" is refused: unsigned and HMAC id_tokens are never accepted');
    expect(await messageOf(unsigned({ alg: 'NONE' }, baseClaims()), 'id_token.alg')).toMatch(/"NONE" is refused/);
    expect(await messageOf(unsigned({ alg: 'hs256' }, baseClaims(), 'c2ln'), 'id_token.alg')).toMatch(/"hs256" is refused/);
  });
  it('an alg outside `algorithms` is named with the allowed ones', async () => {
    const token = await idToken({}, { key: es256, kid: 'kes', alg: 'ES256' });
    expect(await messageOf(token, 'id_token.alg', options({ algorithms: ['RS256', 'PS256'] }))).toBe('id_token "alg" "ES256" is not among the allowed algorithms (RS256, PS256)');
  });
  it('a long alg is quoted and cut to 200 characters in the message', async () => {
    const alg = `Z${'x'.repeat(299)}`;
    const message = await messageOf(unsigned({ alg }, baseClaims(), 'c2ln'), 'id_token.alg');
    expect(message).toContain(`"alg" "Z${'x'.repeat(198)} is not among`);
    expect(message).not.toContain('x'.repeat(199));
  });
});

describe('validateIdToken: jose\'s failures, mapped by code to the claim at fault', () => {
  it('messages name the claim and the public values at fault', async () => {
    expect(await messageOf(await idToken({ exp: NOW_S - TOLERANCE, iat: NOW_S - 60 }), 'id_token.exp')).toBe('id_token "exp" has expired (clock tolerance 30 s)');
    expect(await messageOf(await idToken({ exp: 'tomorrow' }), 'id_token.exp')).toBe('id_token "exp" claim must be a number');
    expect(await messageOf(await idToken({ iss: 'https://evil.example' }), 'id_token.iss')).toBe('id_token "iss" is not the expected issuer "https://op.example"');
    expect(await messageOf(await idToken({ aud: 'other' }), 'id_token.aud')).toBe('id_token "aud" does not contain the client id "client-1"');
    expect(await messageOf(await idToken({ nbf: NOW_S + TOLERANCE + 1 }), 'id_token.nbf')).toBe('id_token "nbf" is in the future (clock tolerance 30 s)');
    expect(await messageOf(await idToken({}, { key: other, kid: 'unknown' }), 'id_token.kid')).toBe('id_token "kid" matches no key in the issuer\'s JWKS (even after refetching it)');
  });
  it('each required claim, when missing, is named as missing', async () => {
    for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat']) {
      expect(await messageOf(await idToken({ [claim]: undefined }), `id_token.${claim}`)).toBe(`id_token "${claim}" claim is missing`);
    }
  });
  it('claim failures carry no cause: jose\'s error holds the claims, and so the nonce', async () => {
    for (const token of [await idToken({ exp: NOW_S - TOLERANCE }), await idToken({ iss: 'https://evil.example' }), await idToken({ sub: undefined })]) {
      expect((await refused(token)).cause).toBeUndefined();
    }
  });
  it('a bad signature carries jose\'s error as cause', async () => {
    const error = await expectField(await idToken({}, { key: other }), 'id_token.signature');
    expect(error.message).toBe('id_token "signature" does not verify against the issuer\'s key');
    expect(error.cause).toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });
  it('an alg jose does not support: id_token.alg, with the cause', async () => {
    const error = await expectField(unsigned({ alg: 'XX512', kid: 'k1' }, baseClaims(), 'c2ln'), 'id_token.alg', options({ algorithms: ['RS256', 'XX512'] }));
    expect(error.message).toBe('id_token "alg" uses an algorithm or key type that is not supported');
    expect(error.cause).toMatchObject({ code: 'ERR_JOSE_NOT_SUPPORTED' });
  });
  it('a JWKS that publishes a private key: invalid_response field jwks', async () => {
    const extractable = await generateKeyPair('RS256', { extractable: true });
    const keys = [{ ...(await exportJWK(extractable.privateKey)), kid: 'k1', alg: 'RS256' }];
    const services = resolveServices({ http: async () => Response.json({ keys }), clock: { now: () => NOW } });
    const error = await refused(await idToken(), options({ getKey: createJwksCache(services).keyFor(JWKS_URI) }));
    expect(error).toMatchObject({ code: 'invalid_response', field: 'jwks', message: 'the issuer\'s JWKS has an unusable key', retryable: false });
    expect(error.cause).toMatchObject({ code: 'ERR_JWKS_INVALID' });
  });
  it('a signature or payload that is not well-formed: id_token, with the cause', async () => {
    const [h, p] = (await idToken()).split('.');
    const badSignature = await expectField(`${h}.${p}.@@@@`, 'id_token');
    expect(badSignature.message).toBe('id_token is not a well-formed signed JWT');
    expect(badSignature.cause).toMatchObject({ code: 'ERR_JWS_INVALID' });
    const notJson = await expectField(await rawToken('not a claims set'), 'id_token');
    expect(notJson.message).toBe('id_token is not a well-formed signed JWT');
    expect(notJson.cause).toMatchObject({ code: 'ERR_JWT_INVALID' });
  });
  it('what a custom getKey throws is mapped by its code too', async () => {
    const cases: Array<[unknown, string, string, boolean]> = [
      [new joseErrors.JOSEAlgNotAllowed('x'), 'id_token.alg', 'id_token "alg" is not among the allowed algorithms (RS256, PS256)', false],
      [new joseErrors.JWKInvalid('x'), 'jwks', 'the issuer\'s JWKS has an unusable key', true],
      [new joseErrors.JWKSInvalid('x'), 'jwks', 'the issuer\'s JWKS has an unusable key', true],
      [new joseErrors.JWSInvalid('x'), 'id_token', 'id_token is not a well-formed signed JWT', true],
      [new joseErrors.JWTInvalid('x'), 'id_token', 'id_token is not a well-formed signed JWT', true],
      [new joseErrors.JWTClaimValidationFailed('x', { nonce: NONCE }, 'typ', 'check_failed'), 'id_token.typ', 'id_token "typ" claim check failed', false],
      [Object.assign(new Error('x'), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 7 }), 'id_token', 'id_token claim check failed', false],
      [new TypeError('wrong key type'), 'id_token.signature', 'id_token "signature" could not be verified with the issuer\'s key', true],
    ];
    for (const [thrown, field, message, keepsCause] of cases) {
      const error = await refused(await idToken(), options({ getKey: rejecting(thrown), algorithms: ['RS256', 'PS256'] }));
      expect(error).toMatchObject({ code: 'invalid_response', field, message });
      expect(error.cause).toBe(keepsCause ? thrown : undefined);
    }
  });
  it('an error that carries claims, or is not an object, is not kept as cause', async () => {
    for (const thrown of [Object.assign(new Error('x'), { payload: { nonce: NONCE } }), 'a string', null, undefined]) {
      const error = await refused(await idToken(), options({ getKey: rejecting(thrown) }));
      expect(error).toMatchObject({ code: 'invalid_response', field: 'id_token.signature' });
      expect(error.cause).toBeUndefined();
    }
  });
  it('several keys match: a failure other than the signature is that failure, not another key\'s', async () => {
    const keys = [await jwk(main, undefined, 'RS256'), await jwk(other, undefined, 'RS256')];
    const services = resolveServices({ http: async () => Response.json({ keys }), clock: { now: () => NOW } });
    const noKid = createJwksCache(services).keyFor(JWKS_URI);
    await expect(validateIdToken(await idToken({}, { kid: null }), options({ getKey: noKid }))).resolves.toMatchObject({ sub: 'user-1' });
    await expectField(await idToken({ exp: NOW_S - TOLERANCE }, { kid: null }), 'id_token.exp', options({ getKey: noKid }));
    const error = await expectField(await idToken({}, { kid: null, key: third }), 'id_token.signature', options({ getKey: noKid }));
    expect(error.message).toBe('id_token "signature" does not verify against the issuer\'s key');
  });
});

describe('validateIdToken: the types of the protocol claims', () => {
  it('each optional protocol claim of the wrong type is named with the type it must have', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['nonce', 7, 'a string'],
      ['azp', 7, 'a string'],
      ['auth_time', '1700000000', 'a number'],
      ['acr', 2, 'a string'],
      ['amr', 'pwd', 'an array of strings'],
      ['amr', ['pwd', 1], 'an array of strings'],
      ['at_hash', 12, 'a string'],
      ['sid', { id: 1 }, 'a string'],
    ];
    for (const [claim, value, what] of cases) {
      expect(await messageOf(await idToken({ [claim]: value }), `id_token.${claim}`, options({ nonce: undefined }))).toBe(`id_token "${claim}" claim must be ${what}`);
    }
  });
  it('an auth_time that is not finite (1e400 in the JSON) is refused', async () => {
    const payload = JSON.stringify(baseClaims()).replace(/}$/, ',"auth_time":1e400}');
    expect(await messageOf(await rawToken(payload), 'id_token.auth_time')).toBe('id_token "auth_time" claim must be a number');
  });
  it('sub: a non-empty string', async () => {
    expect(await messageOf(await idToken({ sub: '' }), 'id_token.sub')).toBe('id_token "sub" must be a non-empty string');
  });
  it('aud: every member a string', async () => {
    expect(await messageOf(await idToken({ aud: [CLIENT, 42], azp: CLIENT }), 'id_token.aud')).toBe('id_token "aud" must be a string or a non-empty array of strings');
  });
  it('well-typed protocol claims are returned', async () => {
    const claims = { azp: CLIENT, auth_time: NOW_S - 10, acr: 'urn:acr:1', amr: ['pwd', 'otp'], sid: 'session-1', aud: [CLIENT, 'api'] };
    await expect(validateIdToken(await idToken(claims), options())).resolves.toMatchObject(claims);
    await expect(validateIdToken(await idToken({ amr: [] }), options())).resolves.toMatchObject({ amr: [] });
  });
});

describe('validateIdToken: the OIDC rules, their messages and edges', () => {
  it('azp', async () => {
    expect(await messageOf(await idToken({ aud: [CLIENT, 'api'] }), 'id_token.azp')).toBe('id_token "azp" claim is required when "aud" has several values');
    expect(await messageOf(await idToken({ azp: 'api' }), 'id_token.azp')).toBe('id_token "azp" is "api", not the client id "client-1"');
  });
  it('iat', async () => {
    expect(await messageOf(await idToken({ iat: NOW_S + TOLERANCE + 1 }), 'id_token.iat')).toBe('id_token "iat" is in the future (clock tolerance 30 s)');
  });
  it('nonce: the messages name neither nonce', async () => {
    expect(await messageOf(await idToken({ nonce: undefined }), 'id_token.nonce')).toBe('id_token "nonce" claim is missing, but a nonce was sent');
    expect(await messageOf(await idToken({ nonce: 'other-nonce' }), 'id_token.nonce')).toBe('id_token "nonce" does not match the nonce sent');
  });
  it('auth_time in the future: accepted up to the tolerance, refused beyond it', async () => {
    await expect(validateIdToken(await idToken({ auth_time: NOW_S + TOLERANCE }), options())).resolves.toBeTruthy();
    expect(await messageOf(await idToken({ auth_time: NOW_S + TOLERANCE + 1 }), 'id_token.auth_time')).toBe('id_token "auth_time" is in the future (clock tolerance 30 s)');
  });
  it('max_age: the messages', async () => {
    expect(await messageOf(await idToken(), 'id_token.auth_time', options({ maxAgeS: 300 }))).toBe('id_token "auth_time" claim is required when max_age was requested');
    const token = await idToken({ auth_time: NOW_S - 400 });
    expect(await messageOf(token, 'id_token.auth_time', options({ maxAgeS: 300 }))).toBe(
      'id_token "auth_time" is more than max_age (300 s) ago (clock tolerance 30 s): the user must authenticate again',
    );
  });
});

describe('validateIdToken: at_hash, by the hash of each alg family', () => {
  const leftHalf = async (hash: string, token: string) => {
    const digest = new Uint8Array(await crypto.subtle.digest(hash, new TextEncoder().encode(token)));
    return base64url(digest.subarray(0, digest.length / 2));
  };
  const families: Array<[string, string]> = [
    ['RS256', 'SHA-256'],
    ['PS256', 'SHA-256'],
    ['ES256', 'SHA-256'],
    ['RS384', 'SHA-384'],
    ['PS384', 'SHA-384'],
    ['ES384', 'SHA-384'],
    ['RS512', 'SHA-512'],
    ['PS512', 'SHA-512'],
    ['ES512', 'SHA-512'],
    ['EdDSA', 'SHA-512'],
    ['Ed25519', 'SHA-512'],
  ];
  it.each(families)('%s: the left half of %s', async (alg, hash) => {
    const pair = await generateKeyPair(alg);
    const opts = options({ algorithms: [alg], getKey: async () => pair.publicKey, accessToken: 'the-access-token' });
    const sign = { key: pair, alg, kid: null };
    await expect(validateIdToken(await idToken({ at_hash: await leftHalf(hash, 'the-access-token') }, sign), opts)).resolves.toBeTruthy();
    const wrong = hash === 'SHA-256' ? 'SHA-384' : 'SHA-256';
    expect(await messageOf(await idToken({ at_hash: await leftHalf(wrong, 'the-access-token') }, sign), 'id_token.at_hash', opts)).toBe('id_token "at_hash" does not match the access token');
  });
});

describe('validateIdToken: refresh (§12.2), more', () => {
  const previousOf = async (overrides: Record<string, unknown> = {}): Promise<IdTokenClaims> => validateIdToken(await idToken({ nonce: undefined, ...overrides }), options({ nonce: undefined }));
  const refreshed = (overrides: Record<string, unknown> = {}) => idToken({ nonce: undefined, ...overrides });
  const opts = (previous: IdTokenClaims) => options({ nonce: undefined, previous });
  it('the message names the claim and the rule', async () => {
    expect(await messageOf(await refreshed({ sub: 'user-2' }), 'id_token.sub', opts(await previousOf()))).toBe('id_token "sub" differs from the previous id_token\'s (OIDC Core §12.2)');
  });
  it('aud: the same number of audiences but another one is refused; a string equals a one-member array', async () => {
    const previous = await previousOf({ aud: [CLIENT, 'api'], azp: CLIENT });
    await expectField(await refreshed({ aud: [CLIENT, 'other'], azp: CLIENT }), 'id_token.aud', opts(previous));
    await expect(validateIdToken(await refreshed({ aud: CLIENT }), opts({ ...(await previousOf()), aud: [CLIENT] }))).resolves.toBeTruthy();
    await expect(validateIdToken(await refreshed({ aud: [CLIENT] }), opts(await previousOf()))).resolves.toBeTruthy();
  });
  it('auth_time in the new token only: not compared', async () => {
    await expect(validateIdToken(await refreshed({ auth_time: NOW_S - 50 }), opts(await previousOf()))).resolves.toBeTruthy();
  });
  it('nonce: when both have one they must be equal; one side only is not compared', async () => {
    const previous = await previousOf({ nonce: NONCE });
    await expect(validateIdToken(await refreshed({ nonce: NONCE }), opts(previous))).resolves.toBeTruthy();
    const error = await expectField(await refreshed({ nonce: 'another-session' }), 'id_token.nonce', opts(previous));
    expect(error.message).toBe('id_token "nonce" differs from the previous id_token\'s (OIDC Core §12.2)');
    await expect(validateIdToken(await refreshed(), opts(previous))).resolves.toBeTruthy();
    await expect(validateIdToken(await refreshed({ nonce: NONCE }), opts(await previousOf()))).resolves.toBeTruthy();
  });
  it('equal azp on both sides is accepted', async () => {
    await expect(validateIdToken(await refreshed({ azp: CLIENT }), opts(await previousOf({ azp: CLIENT })))).resolves.toBeTruthy();
  });
});

describe('createNonce: a broken random service', () => {
  it('is refused unless it returns a Uint8Array of exactly 32 bytes', () => {
    for (const bytes of [new Uint8Array(31), new Uint8Array(33), Array.from({ length: 32 }, () => 1), 'x'.repeat(32)]) {
      expect(() => createNonce(() => bytes as Uint8Array)).toThrow(
        expect.objectContaining({ code: 'invalid_configuration', field: 'services.random', message: 'random(32) must return a Uint8Array of 32 bytes' }),
      );
    }
  });
  it('asks for 32 bytes', () => {
    const asked: number[] = [];
    createNonce((n) => (asked.push(n), new Uint8Array(n)));
    expect(asked).toEqual([32]);
  });
});
