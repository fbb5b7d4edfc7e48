import { createHash } from 'node:crypto';
import { EmbeddedJWK, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createDpopProof, generateDpopKeyPair, htuOf, publicJwkOf, type DpopAlg } from '../../src/dpop/index.js';
import { OAuthError } from '../../src/errors.js';

const NOW = 1_700_000_000_123;
const fixedRandom = (fill: number) => (bytes: number) => new Uint8Array(bytes).fill(fill);
const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

async function verify(proof: string) {
  return jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', currentDate: new Date(NOW) });
}

describe('createDpopProof', () => {
  it('is a dpop+jwt signed by the pair, with only the public key embedded, and htm, htu, iat, jti', async () => {
    const pair = await generateDpopKeyPair({ extractable: true }); // even an extractable private key must not leak
    const proof = await createDpopProof(pair, { method: 'POST', url: 'https://as.example/token', now: NOW, random: fixedRandom(7) });
    const { payload, protectedHeader } = await verify(proof);
    expect(protectedHeader.typ).toBe('dpop+jwt');
    expect(protectedHeader.alg).toBe('ES256');
    expect(Object.keys(protectedHeader.jwk!).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(protectedHeader.jwk).toEqual(await publicJwkOf(pair.publicKey));
    expect(payload).toEqual({ htm: 'POST', htu: 'https://as.example/token', iat: Math.floor(NOW / 1000), jti: b64u(new Uint8Array(16).fill(7)) });
  });

  it('jti is 16 bytes of the injected random, so two proofs differ', async () => {
    const pair = await generateDpopKeyPair();
    const asked: number[] = [];
    const random = (bytes: number) => (asked.push(bytes), crypto.getRandomValues(new Uint8Array(bytes)));
    const a = (await verify(await createDpopProof(pair, { method: 'GET', url: 'https://rs.example/', now: NOW, random }))).payload.jti;
    const b = (await verify(await createDpopProof(pair, { method: 'GET', url: 'https://rs.example/', now: NOW, random }))).payload.jti;
    expect(asked).toEqual([16, 16]);
    expect(a).toHaveLength(22);
    expect(a).not.toBe(b);
  });

  it('htu drops the query and the fragment (and userinfo), normalised as the URL parser does', async () => {
    const pair = await generateDpopKeyPair();
    const proof = await createDpopProof(pair, { method: 'GET', url: 'HTTPS://RS.Example:443/api/../v1/items?id=1&x=2#top', now: NOW, random: fixedRandom(1) });
    expect((await verify(proof)).payload.htu).toBe('https://rs.example/v1/items');
    expect(htuOf('https://u:p@as.example:8443/token?')).toBe('https://as.example:8443/token');
    expect(htuOf(new URL('http://localhost:3000'))).toBe('http://localhost:3000/');
    expect(() => htuOf('/token')).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'dpop.url' }));
    expect(() => htuOf('ftp://as.example/x')).toThrow(expect.objectContaining({ field: 'dpop.url' }));
  });

  it('ath is base64url(SHA-256(access token)): RFC 9449 §7.1 example, and any token', async () => {
    const pair = await generateDpopKeyPair();
    const rfcToken = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
    const rfc = await createDpopProof(pair, { method: 'GET', url: 'https://resource.example.org/protectedresource', accessToken: rfcToken, now: NOW, random: fixedRandom(2) });
    expect((await verify(rfc)).payload.ath).toBe('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
    const token = 'another.access-token_123';
    const other = await createDpopProof(pair, { method: 'GET', url: 'https://rs.example/', accessToken: token, now: NOW, random: fixedRandom(2) });
    expect((await verify(other)).payload.ath).toBe(createHash('sha256').update(token).digest('base64url'));
    // Without a token (token endpoint requests) there is no ath.
    expect((await verify(await createDpopProof(pair, { method: 'POST', url: 'https://as.example/token', now: NOW, random: fixedRandom(2) }))).payload).not.toHaveProperty('ath');
  });

  it('carries the nonce only when given, and refuses one that is not 1*NQCHAR', async () => {
    const pair = await generateDpopKeyPair();
    const proof = await createDpopProof(pair, { method: 'POST', url: 'https://as.example/token', nonce: 'eyJ7S_zG.eyJH0-Z.HX4w-7v', now: NOW, random: fixedRandom(3) });
    expect((await verify(proof)).payload.nonce).toBe('eyJ7S_zG.eyJH0-Z.HX4w-7v');
    expect((await verify(await createDpopProof(pair, { method: 'POST', url: 'https://as.example/token', now: NOW, random: fixedRandom(3) }))).payload).not.toHaveProperty('nonce');
    await expect(createDpopProof(pair, { method: 'POST', url: 'https://as.example/token', nonce: 'a "b"', now: NOW, random: fixedRandom(3) })).rejects.toMatchObject({ field: 'dpop.nonce' });
  });

  it("upper-cases the methods fetch upper-cases, and leaves others as sent", async () => {
    const pair = await generateDpopKeyPair();
    const htm = async (method: string) => (await verify(await createDpopProof(pair, { method, url: 'https://rs.example/', now: NOW, random: fixedRandom(4) }))).payload.htm;
    expect(await htm('post')).toBe('POST');
    expect(await htm('delete')).toBe('DELETE');
    expect(await htm('patch')).toBe('patch'); // fetch sends "patch" as is
    await expect(htm('GET /')).rejects.toMatchObject({ field: 'dpop.method' });
  });

  it.each<DpopAlg>(['ES384', 'RS256', 'PS256', 'EdDSA'])('signs with the key’s own algorithm: %s', async (alg) => {
    const pair = await generateDpopKeyPair({ alg });
    const proof = await createDpopProof(pair, { method: 'GET', url: 'https://rs.example/', now: NOW, random: fixedRandom(5) });
    const { protectedHeader } = await verify(proof);
    expect(protectedHeader.alg).toBe(alg);
    expect(protectedHeader.jwk).not.toHaveProperty('d');
  });

  it('refuses a key pair it cannot use, saying which field', async () => {
    const pair = await generateDpopKeyPair();
    const options = { method: 'GET', url: 'https://rs.example/', now: NOW, random: fixedRandom(6) };
    await expect(createDpopProof({ publicKey: pair.publicKey, privateKey: pair.publicKey }, options)).rejects.toMatchObject({ code: 'invalid_configuration', field: 'dpop.keyPair' });
    const other = await generateDpopKeyPair({ alg: 'RS256' });
    await expect(createDpopProof({ publicKey: other.publicKey, privateKey: pair.privateKey }, options)).rejects.toMatchObject({ field: 'dpop.keyPair' });
    await expect(createDpopProof(pair, { ...options, alg: 'RS256' })).rejects.toMatchObject({ field: 'dpop.alg' });
    expect(decodeProtectedHeader(await createDpopProof(pair, { ...options, alg: 'ES256' })).alg).toBe('ES256');
  });
});

// ---- Mutation-testing additions: what createDpopProof refuses, and how it says so -------------

describe('createDpopProof refusals, each naming its field and saying why', () => {
  const options = { method: 'GET', url: 'https://rs.example/', now: NOW, random: fixedRandom(8) };
  const refusal = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ code: 'invalid_configuration' });
    return error as OAuthError;
  };

  it('a key pair that is missing, or whose private key is not a private signing key', async () => {
    const pair = await generateDpopKeyPair();
    const needsPrivate = { field: 'dpop.keyPair', message: 'dpop.keyPair needs a private key that can sign' };
    expect(await refusal(createDpopProof(undefined as never, options))).toMatchObject(needsPrivate);
    expect(await refusal(createDpopProof({} as never, options))).toMatchObject(needsPrivate);
    expect(await refusal(createDpopProof({ publicKey: pair.publicKey, privateKey: pair.publicKey }, options))).toMatchObject(needsPrivate);
    // A secret (HMAC) key can sign, but is not a private key.
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    expect(await refusal(createDpopProof({ publicKey: pair.publicKey, privateKey: hmac }, options))).toMatchObject(needsPrivate);
    // A private key that cannot sign (ECDH derives bits).
    const ecdh = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])) as CryptoKeyPair;
    expect(await refusal(createDpopProof(ecdh, options))).toMatchObject(needsPrivate);
  });

  it('a private key of no DPoP algorithm says which it is', async () => {
    const p521 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-521' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    expect(await refusal(createDpopProof(p521, options))).toMatchObject({
      field: 'dpop.keyPair',
      message: 'dpop.keyPair is a ECDSA key: DPoP needs ES256, ES384, RS256, PS256 or EdDSA',
    });
  });

  it('a missing public key, or one that is not public, is refused before anything is signed', async () => {
    const pair = await generateDpopKeyPair();
    const needsPublic = { field: 'dpop.keyPair', message: 'dpop.keyPair needs the public key of the same pair' };
    expect(await refusal(createDpopProof({ privateKey: pair.privateKey } as never, options))).toMatchObject(needsPublic);
    expect(await refusal(createDpopProof({ publicKey: pair.privateKey, privateKey: pair.privateKey }, options))).toMatchObject(needsPublic);
    const rsa = await generateDpopKeyPair({ alg: 'RS256' });
    expect(await refusal(createDpopProof({ publicKey: rsa.publicKey, privateKey: pair.privateKey }, options))).toMatchObject(needsPublic);
  });

  it('an alg other than the key’s names both', async () => {
    const pair = await generateDpopKeyPair();
    expect(await refusal(createDpopProof(pair, { ...options, alg: 'PS256' }))).toMatchObject({ field: 'dpop.alg', message: 'dpop.alg is PS256, but the key signs ES256' });
  });

  it('a method that is not a token, or not a string', async () => {
    const pair = await generateDpopKeyPair();
    for (const method of ['A B', ' GET', 'GET\n', '', undefined, 42]) {
      expect(await refusal(createDpopProof(pair, { ...options, method: method as never })), String(method)).toMatchObject({ field: 'dpop.method', message: 'dpop.method must be an HTTP method' });
    }
  });

  it('a clock that is not epoch milliseconds', async () => {
    const pair = await generateDpopKeyPair();
    for (const now of [NaN, Infinity, undefined]) {
      expect(await refusal(createDpopProof(pair, { ...options, now: now as never }))).toMatchObject({ field: 'dpop.now', message: 'dpop.now must be epoch milliseconds' });
    }
  });

  it('an access token that is empty or not a string', async () => {
    const pair = await generateDpopKeyPair();
    for (const accessToken of ['', 42, null]) {
      expect(await refusal(createDpopProof(pair, { ...options, accessToken: accessToken as never }))).toMatchObject({
        field: 'dpop.accessToken',
        message: 'dpop.accessToken must be a non-empty string',
      });
    }
  });

  it('a nonce that is not 1*NQCHAR (or not a string, or over 1024 characters)', async () => {
    const pair = await generateDpopKeyPair();
    for (const nonce of ['a b', 'a "b"', '', 42, 'n'.repeat(1025)]) {
      expect(await refusal(createDpopProof(pair, { ...options, nonce: nonce as never }))).toMatchObject({ field: 'dpop.nonce', message: 'dpop.nonce must be a DPoP nonce (1*NQCHAR)' });
    }
    expect((await verify(await createDpopProof(pair, { ...options, nonce: 'n'.repeat(1024) }))).payload.nonce).toHaveLength(1024);
  });

  it('a URL that is not absolute, or not http(s)', async () => {
    expect(() => htuOf('/token')).toThrow(expect.objectContaining({ field: 'dpop.url', message: 'dpop.url must be an absolute URL' }));
    expect(() => htuOf('ftp://as.example/x')).toThrow(expect.objectContaining({ field: 'dpop.url', message: 'dpop.url must be an http(s) URL' }));
  });

  it('a key WebCrypto cannot sign with is invalid_configuration, with the cause', async () => {
    const pair = await generateDpopKeyPair();
    // Looks like an ES256 private key, but is no CryptoKey: the signature itself fails.
    const forged = { type: 'private', extractable: false, usages: ['sign'], algorithm: pair.privateKey.algorithm };
    const error = await refusal(createDpopProof({ publicKey: pair.publicKey, privateKey: forged }, options));
    expect(error.field).toBe('dpop.keyPair');
    expect(error.message).toMatch(/^dpop\.keyPair cannot sign the DPoP proof: ./);
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.message).toContain((error.cause as Error).message);
  });
});

describe('createDpopProof method normalisation', () => {
  it('upper-cases each of fetch’s six methods, and no other', async () => {
    const pair = await generateDpopKeyPair();
    const htm = async (method: string) => (await verify(await createDpopProof(pair, { method, url: 'https://rs.example/', now: NOW, random: fixedRandom(9) }))).payload.htm;
    for (const method of ['delete', 'get', 'head', 'options', 'post', 'put']) expect(await htm(method)).toBe(method.toUpperCase());
    expect(await htm('Get')).toBe('GET');
    expect(await htm('connect')).toBe('connect');
    expect(await htm('PROPFIND')).toBe('PROPFIND');
  });
});
