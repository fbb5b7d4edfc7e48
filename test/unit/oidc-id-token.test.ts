import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTVerifyGetKey } from 'jose';
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
