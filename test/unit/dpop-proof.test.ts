import { createHash } from 'node:crypto';
import { EmbeddedJWK, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createDpopProof, generateDpopKeyPair, htuOf, publicJwkOf, type DpopAlg } from '../../src/dpop/index.js';

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
