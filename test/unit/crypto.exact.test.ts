import { decodeProtectedHeader, exportJWK, exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey as JoseKey } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { base64url } from '../../src/crypto/base64url.js';
import { ASSERTION_LIFETIME_S, ASSERTION_TYPE, importSigningKey, MIN_RSA_BITS, signClientAssertion, type PrivateKeyInput } from '../../src/crypto/client-assertion.js';
import { codeChallenge, createPkcePair, createState, timingSafeEqual } from '../../src/crypto/pkce.js';
import { OAuthError } from '../../src/errors.js';
import { rejected } from '../support/oauth-error.js';

/**
 * Written against the survivors of a mutation run over src/crypto (see TOOLCHAIN.md, Mutation
 * testing): exact outputs of base64url and PKCE, the checks of a random source, the constant-time
 * comparison, every refusal of importSigningKey, and the claims of a signed client assertion.
 */

const bytes = (...values: number[]) => Uint8Array.from(values);
/** A random source that records what it was asked for and returns 0, 1, 2 … */
function countingRandom() {
  const asked: number[] = [];
  const random = (n: number) => {
    asked.push(n);
    return Uint8Array.from({ length: n }, (_, i) => i);
  };
  return { random, asked };
}

const refusal = (input: unknown) => rejected(importSigningKey(input as PrivateKeyInput));

describe('base64url', () => {
  it('replaces every + and / and strips all padding (RFC 4648 §5)', () => {
    // "+//7/w==" in base64: two '/', one '+', two '='.
    expect(base64url(bytes(0xfb, 0xff, 0xfb, 0xff))).toBe('-__7_w');
    // "+++/" twice: several '+' in a row.
    expect(base64url(bytes(0xfb, 0xef, 0xbf, 0xfb, 0xef, 0xbf))).toBe('---_---_');
    expect(base64url(bytes(0xff))).toBe('_w');
    expect(base64url(bytes(0xff, 0xff))).toBe('__8');
    expect(base64url(bytes(0, 0, 0))).toBe('AAAA');
  });
  it('encodes every byte, the last one too, and nothing for no bytes', () => {
    expect(base64url(new Uint8Array(0))).toBe('');
    expect(base64url(bytes(1, 2, 3, 4, 5, 6))).toBe('AQIDBAUG');
    expect(base64url(bytes(104, 105))).toBe('aGk');
  });
});

describe('PKCE and state', () => {
  it('S256 is the default; the verifier is base64url of the 32 bytes the random source gives', async () => {
    const { random, asked } = countingRandom();
    const pair = await createPkcePair(random);
    expect(asked).toEqual([32]);
    expect(pair).toEqual({
      verifier: base64url(Uint8Array.from({ length: 32 }, (_, i) => i)),
      challenge: await codeChallenge(pair.verifier, 'S256'),
      method: 'S256',
    });
    expect(pair.verifier).toBe('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
    expect(pair.challenge).not.toBe(pair.verifier);
    expect(pair.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
  it('plain keeps the method it was given', async () => {
    const pair = await createPkcePair(countingRandom().random, 'plain');
    expect(pair.method).toBe('plain');
    expect(pair.challenge).toBe(pair.verifier);
  });
  it('state is base64url of 32 random bytes', () => {
    const { random, asked } = countingRandom();
    expect(createState(random)).toBe('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
    expect(asked).toEqual([32]);
  });
  it.each([
    ['too few bytes', () => new Uint8Array(31)],
    ['too many bytes', () => new Uint8Array(33)],
    ['a plain array of 32 numbers', () => Array.from({ length: 32 }, () => 7) as unknown as Uint8Array],
    ['nothing', () => undefined as unknown as Uint8Array],
  ])('a random source giving %s is invalid_configuration on services.random, with the count in the message', async (_what, random) => {
    for (const run of [() => createPkcePair(random), async () => createState(random)]) {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(OAuthError);
      expect(error).toMatchObject({ code: 'invalid_configuration', field: 'services.random', message: 'random(32) must return a Uint8Array of 32 bytes' });
    }
  });
});

describe('timingSafeEqual', () => {
  it.each([
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['abd', 'abc', false],
    ['xbc', 'abc', false],
    ['abc', 'abcabc', false],
    ['abcabc', 'abc', false],
    ['a', 'aa', false],
    ['aa', 'a', false],
    ['', 'a', false],
    ['a', '', false],
    ['', '', true],
    ['état', 'état', true],
    ['état', 'etat', false],
  ])('%j vs %j is %s', (a, b, expected) => {
    expect(timingSafeEqual(a, b)).toBe(expected);
  });
  it('a long equal pair is equal; one differing only in its last character is not', () => {
    const s = 'x'.repeat(43);
    expect(timingSafeEqual(s, s)).toBe(true);
    expect(timingSafeEqual(s, `${s.slice(0, 42)}y`)).toBe(false);
  });
});

describe('sha256: the WebCrypto path where node:crypto is not available (a browser)', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });
  it('gives the RFC 7636 appendix B challenge without process.getBuiltinModule', async () => {
    vi.resetModules();
    vi.stubGlobal('process', { ...process, getBuiltinModule: undefined });
    const { sha256 } = await import('../../src/crypto/sha256.js');
    expect(base64url(await sha256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'))).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });
  it('uses node:crypto where getBuiltinModule gives it, looked up once', async () => {
    vi.resetModules();
    const real = process.getBuiltinModule.bind(process);
    const lookups: string[] = [];
    const createHash = vi.fn((algorithm: string) => (real('node:crypto') as typeof import('node:crypto')).createHash(algorithm));
    vi.stubGlobal('process', {
      ...process,
      getBuiltinModule: (id: string) => {
        lookups.push(id);
        return id === 'node:crypto' ? { createHash } : real(id);
      },
    });
    const { sha256 } = await import('../../src/crypto/sha256.js');
    expect(base64url(await sha256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'))).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(base64url(await sha256('abc'))).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    expect(createHash).toHaveBeenCalledTimes(2);
    expect(createHash).toHaveBeenCalledWith('sha256');
    expect(lookups).toEqual(['node:crypto']);
  });
});

describe('importSigningKey', () => {
  let pair: { publicKey: JoseKey; privateKey: JoseKey };
  let pem: string;
  let jwk: JsonWebKey;
  let publicJwk: JsonWebKey;

  beforeAll(async () => {
    pair = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    pem = await exportPKCS8(pair.privateKey);
    jwk = (await exportJWK(pair.privateKey)) as JsonWebKey;
    publicJwk = (await exportJWK(pair.publicKey)) as JsonWebKey;
  });

  const signsFor = async (key: CryptoKey) => {
    const jwt = await signClientAssertion(key, { clientId: 'c', audience: 'https://as.example/token', now: Date.now(), random: countingRandom().random });
    return (await jwtVerify(jwt, pair.publicKey)).payload.iss;
  };

  it('the constants are RFC 7523 / NIST ones', () => {
    expect(MIN_RSA_BITS).toBe(2048);
    expect(ASSERTION_LIFETIME_S).toBe(60);
    expect(ASSERTION_TYPE).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  });

  it('a PKCS#8 PEM becomes a non-extractable RS256 signing key (2048 bits is enough)', async () => {
    const key = await importSigningKey(pem);
    expect(key.type).toBe('private');
    expect(key.extractable).toBe(false);
    expect(key.usages).toContain('sign');
    expect(key.algorithm).toMatchObject({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, hash: { name: 'SHA-256' } });
    expect(await signsFor(key)).toBe('c');
  });

  it('a PEM with text around it (a file with a comment) is still imported', async () => {
    const key = await importSigningKey(`${pem}\n`);
    expect(await signsFor(key)).toBe('c');
  });

  it('a private JWK (2048 bits) becomes a signing key for RS256', async () => {
    const key = await importSigningKey(jwk);
    expect(key.type).toBe('private');
    expect(key.algorithm).toMatchObject({ name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } });
    expect(await signsFor(key)).toBe('c');
  });

  it('a CryptoKey that fits is returned as it is', async () => {
    expect(await importSigningKey(pair.privateKey)).toBe(pair.privateKey);
  });

  it('a CryptoKey of more than 2048 bits is accepted', async () => {
    const big = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign']);
    expect(await importSigningKey(big.privateKey)).toBe(big.privateKey);
  });

  describe('every refusal is invalid_configuration on secrets.privateKey, saying what is wrong', () => {
    it('a public CryptoKey', async () => {
      expect(await refusal(pair.publicKey)).toMatchObject({
        code: 'invalid_configuration',
        field: 'secrets.privateKey',
        message: 'secrets.privateKey is a public key: give the private key',
      });
    });
    it('an RSA-PSS or ECDSA CryptoKey names its algorithm', async () => {
      const pss = await crypto.subtle.generateKey({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign']);
      expect((await refusal(pss.privateKey)).message).toBe('secrets.privateKey is a RSA-PSS key: RS256 needs an RSASSA-PKCS1-v1_5 key');
      const ec = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
      expect(await refusal(ec.privateKey)).toMatchObject({ field: 'secrets.privateKey', message: 'secrets.privateKey is a ECDSA key: RS256 needs an RSASSA-PKCS1-v1_5 key' });
    });
    it('a CryptoKey of fewer than 2048 bits, and one that does not say its size', async () => {
      const small = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2040, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign']);
      expect(await refusal(small.privateKey)).toMatchObject({ field: 'secrets.privateKey', message: 'secrets.privateKey is 2040 bits: at least 2048 are needed' });
      const noSize = { type: 'private', extractable: false, algorithm: { name: 'RSASSA-PKCS1-v1_5' }, usages: ['sign'] };
      expect(await refusal(noSize)).toMatchObject({ field: 'secrets.privateKey', message: 'secrets.privateKey is undefined bits: at least 2048 are needed' });
    });
    it('a CryptoKey that may not sign', async () => {
      const verifyOnly = { type: 'private', extractable: false, algorithm: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048 }, usages: ['verify'] };
      expect(await refusal(verifyOnly)).toMatchObject({ field: 'secrets.privateKey', message: 'secrets.privateKey cannot be used to sign' });
    });
    it('a PKCS#1 PEM says how to convert it; any other string says what is expected', async () => {
      expect((await refusal('-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----')).message).toBe(
        'secrets.privateKey is PKCS#1: convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)',
      );
      expect(await refusal('not a key')).toMatchObject({
        field: 'secrets.privateKey',
        message: 'secrets.privateKey is not a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----")',
      });
      expect((await refusal('')).message).toBe('secrets.privateKey is not a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----")');
      expect((await refusal('')).cause).toBeUndefined();
    });
    it('a PKCS#8 PEM that does not import keeps the cause', async () => {
      const e = await refusal('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----');
      expect(e.field).toBe('secrets.privateKey');
      expect(e.message.startsWith('secrets.privateKey cannot be imported as an RSA key for RS256: ')).toBe(true);
      expect(e.message.length).toBeGreaterThan('secrets.privateKey cannot be imported as an RSA key for RS256: '.length);
      expect(e.cause).toBeInstanceOf(Error);
      expect(e.message).toContain((e.cause as Error).message);
    });
    it('a PKCS#8 PEM of an EC key cannot be imported for RS256', async () => {
      const ec = await generateKeyPair('ES256', { extractable: true });
      const e = await refusal(await exportPKCS8(ec.privateKey));
      expect(e.message).toMatch(/^secrets\.privateKey cannot be imported as an RSA key for RS256: /);
    });
    it('a PKCS#8 PEM of a 1024-bit RSA key is refused for its size', async () => {
      const small = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
      const smallPem = await exportPKCS8(small.privateKey);
      expect(await refusal(smallPem)).toMatchObject({ field: 'secrets.privateKey', message: 'secrets.privateKey is 1024 bits: at least 2048 are needed' });
    });
    it('a JWK that is not RSA, or has no kty', async () => {
      expect((await refusal({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' })).message).toBe('secrets.privateKey is a EC JWK: RS256 needs kty "RSA"');
      expect(await refusal({ n: 'n', e: 'AQAB', d: 'd' })).toMatchObject({
        field: 'secrets.privateKey',
        message: 'secrets.privateKey is a key without kty JWK: RS256 needs kty "RSA"',
      });
    });
    it('a public JWK, and one with an empty d', async () => {
      expect(await refusal(publicJwk)).toMatchObject({ field: 'secrets.privateKey', message: 'secrets.privateKey is a public JWK: give the private key (with "d")' });
      expect((await refusal({ ...jwk, d: '' })).message).toBe('secrets.privateKey is a public JWK: give the private key (with "d")');
    });
    it('a JWK of fewer than 2048 bits says its size, counted from n', async () => {
      const small = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
      const smallJwk = await crypto.subtle.exportKey('jwk', small.privateKey);
      expect(await refusal(smallJwk)).toMatchObject({ field: 'secrets.privateKey', message: 'secrets.privateKey is 1024 bits: at least 2048 are needed' });
      // 341 base64url characters carry 2046 bits: just short.
      expect((await refusal({ ...jwk, n: jwk.n!.slice(0, 341) })).message).toBe('secrets.privateKey is 2040 bits: at least 2048 are needed');
      expect((await refusal({ ...jwk, n: undefined })).message).toBe('secrets.privateKey is 0 bits: at least 2048 are needed');
    });
    it('an RSA JWK that does not import keeps the cause', async () => {
      // RFC 7518 §6.3.2: p, q, dp, dq and qi come together or not at all; WebCrypto refuses one without p.
      const e = await refusal({ ...jwk, p: undefined });
      expect(e.field).toBe('secrets.privateKey');
      expect(e.message).toMatch(/^secrets\.privateKey cannot be imported: ./);
      expect(e.cause).toBeInstanceOf(Error);
      expect(e.message).toContain((e.cause as Error).message);
    });
    it.each([
      ['null', null],
      ['a number', 42],
      ['undefined', undefined],
      ['a boolean', true],
    ])('%s', async (_what, input) => {
      expect(await refusal(input)).toMatchObject({
        code: 'invalid_configuration',
        field: 'secrets.privateKey',
        message: 'secrets.privateKey must be a PKCS#8 PEM string, a JWK or a CryptoKey',
      });
    });
  });
});

describe('signClientAssertion (RFC 7523 §3)', () => {
  let pair: { publicKey: JoseKey; privateKey: JoseKey };
  beforeAll(async () => {
    pair = await generateKeyPair('RS256', { extractable: true });
  });
  const NOW = 1_700_000_000_999;
  const AUD = 'https://as.example/oauth/token';

  it('header alg RS256, typ JWT, kid when given; iss = sub = client id, aud, jti from 16 random bytes, iat, exp 60 s later', async () => {
    const { random, asked } = countingRandom();
    const jwt = await signClientAssertion(pair.privateKey as CryptoKey, { clientId: 'client-1', audience: AUD, now: NOW, random, keyId: 'k1' });
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'k1' });
    const { payload } = await jwtVerify(jwt, pair.publicKey, { currentDate: new Date(NOW), audience: AUD, issuer: 'client-1', subject: 'client-1', algorithms: ['RS256'] });
    expect(asked).toEqual([16]);
    expect(payload).toEqual({
      iss: 'client-1',
      sub: 'client-1',
      aud: AUD,
      jti: base64url(Uint8Array.from({ length: 16 }, (_, i) => i)),
      iat: 1_700_000_000,
      exp: 1_700_000_060,
    });
    expect(payload.jti).toBe('AAECAwQFBgcICQoLDA0ODw');
  });

  it('no kid without a key id (nor with an empty one)', async () => {
    for (const keyId of [undefined, '']) {
      const jwt = await signClientAssertion(pair.privateKey as CryptoKey, { clientId: 'c', audience: AUD, now: NOW, random: countingRandom().random, ...(keyId === undefined ? {} : { keyId }) });
      expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'RS256', typ: 'JWT' });
    }
  });

  it('iat is whole seconds, rounded down; an assertion is expired 60 s later', async () => {
    const jwt = await signClientAssertion(pair.privateKey as CryptoKey, { clientId: 'c', audience: AUD, now: 1_000_999, random: countingRandom().random });
    const { payload } = await jwtVerify(jwt, pair.publicKey, { currentDate: new Date(1_000_999) });
    expect(payload.iat).toBe(1000);
    expect(payload.exp).toBe(1060);
    await expect(jwtVerify(jwt, pair.publicKey, { currentDate: new Date(1_061_000) })).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  it('each assertion has its own jti (from the random source)', async () => {
    let n = 0;
    const random = (count: number) => Uint8Array.from({ length: count }, () => n++ % 256);
    const sign = () => signClientAssertion(pair.privateKey as CryptoKey, { clientId: 'c', audience: AUD, now: NOW, random });
    const [a, b] = await Promise.all([sign(), sign()]);
    const jti = async (jwt: string) => (await jwtVerify(jwt, pair.publicKey, { currentDate: new Date(NOW) })).payload.jti;
    expect(await jti(a)).not.toBe(await jti(b));
    expect(await jti(a)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
