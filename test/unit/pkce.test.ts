import { describe, expect, it } from 'vitest';
import { base64url } from '../../src/crypto/base64url.js';
import { codeChallenge, createPkcePair, createState, timingSafeEqual } from '../../src/crypto/pkce.js';
import { sha256, sha256WebCrypto } from '../../src/crypto/sha256.js';
import { cryptoRandom } from '../../src/services/defaults.js';

// RFC 7636 Appendix B.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('PKCE', () => {
  it('matches the RFC 7636 appendix B vector (node:crypto path and WebCrypto path)', async () => {
    expect(await codeChallenge(VERIFIER, 'S256')).toBe(CHALLENGE);
    expect(base64url(await sha256(VERIFIER))).toBe(CHALLENGE);
    expect(base64url(await sha256WebCrypto(VERIFIER))).toBe(CHALLENGE);
  });

  it('the appendix B verifier comes from its 32 octets', () => {
    const octets = [116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121];
    expect(base64url(Uint8Array.from(octets))).toBe(VERIFIER);
  });

  it('makes a 43-character verifier from 32 random bytes, and a state likewise', async () => {
    const pair = await createPkcePair(cryptoRandom);
    expect(pair.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.method).toBe('S256');
    expect(pair.challenge).toBe(await codeChallenge(pair.verifier, 'S256'));
    expect(createState(cryptoRandom)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createState(cryptoRandom)).not.toBe(createState(cryptoRandom));
  });

  it('plain: the challenge is the verifier', async () => {
    const pair = await createPkcePair(cryptoRandom, 'plain');
    expect(pair.challenge).toBe(pair.verifier);
  });

  it('refuses a random source that returns the wrong number of bytes', async () => {
    await expect(createPkcePair(() => new Uint8Array(8))).rejects.toMatchObject({ code: 'invalid_configuration', field: 'services.random' });
  });

  it('compares states in constant time, correctly', () => {
    expect(timingSafeEqual('abc', 'abc')).toBe(true);
    expect(timingSafeEqual('abc', 'abd')).toBe(false);
    expect(timingSafeEqual('abc', 'abcd')).toBe(false);
    expect(timingSafeEqual('', 'a')).toBe(false);
    expect(timingSafeEqual('', '')).toBe(true);
  });
});
