import { IDBFactory } from 'fake-indexeddb';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import type { CryptoKeyPairLike } from '../../src/crypto/web-types.js';
import { dpopJkt, generateDpopKeyPair, jwkThumbprint, loadOrCreateDpopKeyPair, publicJwkOf } from '../../src/dpop/index.js';
import { indexedDbStorage } from '../../src/services/indexeddb-storage.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import type { Storage } from '../../src/services/types.js';

const KEY = 'grantflow:p:c:dpop';
const subtle = globalThis.crypto.subtle;

/** Whether b's private key signs what a's public key verifies: the same key pair, whatever the objects. */
async function samePair(a: CryptoKeyPairLike, b: CryptoKeyPairLike) {
  const data = new Uint8Array([1, 2, 3]);
  const signature = await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, b.privateKey as CryptoKey, data);
  return (await dpopJkt(a)) === (await dpopJkt(b)) && (await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, a.publicKey as CryptoKey, signature, data));
}

/** A storage of strings only (no setIfAbsent, no key pairs), counting writes. */
function stringStorage() {
  const map = new Map<string, string>();
  const storage = {
    get: vi.fn(async (key: string) => map.get(key)),
    set: vi.fn(async (key: string, value: string) => void map.set(key, value)),
    delete: vi.fn(async (key: string) => void map.delete(key)),
  };
  return { storage, map };
}

/** memoryStorage without its key-pair methods: strings and a setIfAbsent lock, as Redis or a file has. */
function lockingStringStorage() {
  const { getKeyPair: _g, setKeyPairIfAbsent: _s, ...strings } = memoryStorage();
  const set = vi.spyOn(strings, 'set');
  // Two views: two processes over one store, which single-flight in one process cannot join.
  return { views: [{ ...strings }, { ...strings }] as Storage[], set, strings };
}

describe('generateDpopKeyPair', () => {
  it('is ES256 with a non-extractable private key by default', async () => {
    const pair = await generateDpopKeyPair();
    expect(pair.privateKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(pair.privateKey.extractable).toBe(false);
    await expect(subtle.exportKey('jwk', pair.privateKey as CryptoKey)).rejects.toThrow();
    expect(pair.privateKey.usages).toEqual(['sign']);
  });

  it('extractable only when asked; RS256 is RSASSA-PKCS1-v1_5, 2048 bits', async () => {
    expect((await generateDpopKeyPair({ extractable: true })).privateKey.extractable).toBe(true);
    const rsa = await generateDpopKeyPair({ alg: 'RS256' });
    expect(rsa.privateKey.algorithm).toMatchObject({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, hash: { name: 'SHA-256' } });
    expect(rsa.privateKey.extractable).toBe(false);
  });
});

describe('publicJwkOf and jwkThumbprint', () => {
  it('publicJwkOf gives the public members only: no d, no key_ops, no ext', async () => {
    const ec = await generateDpopKeyPair({ extractable: true });
    expect(Object.keys(await publicJwkOf(ec.publicKey)).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    const rsa = await generateDpopKeyPair({ alg: 'RS256', extractable: true });
    expect(Object.keys(await publicJwkOf(rsa.publicKey)).sort()).toEqual(['e', 'kty', 'n']);
    await expect(publicJwkOf(ec.privateKey)).rejects.toMatchObject({ code: 'invalid_configuration' });
  });

  it('RFC 7638 §3.1: the example key’s thumbprint, whatever its other members', async () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(await jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    await expect(jwkThumbprint({ kty: 'RSA', e: 'AQAB' })).rejects.toMatchObject({ code: 'invalid_configuration', field: 'jwk.n' });
  });

  it('agrees with jose for EC, RSA and OKP keys (members in lexicographic order)', async () => {
    for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
      const pair = await generateDpopKeyPair({ alg });
      expect(await dpopJkt(pair)).toBe(await calculateJwkThumbprint(await exportJWK(pair.publicKey as CryptoKey)));
    }
  });
});

describe('loadOrCreateDpopKeyPair', () => {
  it('memoryStorage keeps the CryptoKeyPair itself: the same pair again, and for concurrent callers; no string is written', async () => {
    const storage = memoryStorage();
    const set = vi.spyOn(storage, 'set');
    const [a, b] = await Promise.all([loadOrCreateDpopKeyPair(storage, KEY), loadOrCreateDpopKeyPair(storage, KEY)]);
    expect(b).toBe(a);
    expect(await loadOrCreateDpopKeyPair(storage, KEY)).toBe(a);
    expect(a.privateKey.extractable).toBe(false);
    expect(set).not.toHaveBeenCalled();
    expect(await storage.get(KEY)).toBeUndefined();
  });

  it('across two processes over one key-pair storage, setKeyPairIfAbsent makes them agree', async () => {
    const storage = memoryStorage();
    const views: Storage[] = [{ ...storage }, { ...storage }];
    const [a, b] = await Promise.all(views.map((view) => loadOrCreateDpopKeyPair(view, KEY)));
    expect(b).toBe(a);
    // delete(key) removes the pair too: the next call makes a new one.
    await storage.delete(KEY);
    expect(await dpopJkt(await loadOrCreateDpopKeyPair(storage, KEY))).not.toBe(await dpopJkt(a!));
  });

  it('a string-only storage gets a private JWK, read back as the same pair, its private key non-extractable', async () => {
    const { storage, map } = stringStorage();
    const [a, b] = await Promise.all([loadOrCreateDpopKeyPair(storage, KEY), loadOrCreateDpopKeyPair(storage, KEY)]);
    expect(storage.set).toHaveBeenCalledTimes(1); // single-flight in one process
    expect(await samePair(a, b)).toBe(true);
    const stored = JSON.parse(map.get(KEY)!);
    expect(stored).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', d: expect.any(String) });
    expect(stored).not.toHaveProperty('key_ops');
    const again = await loadOrCreateDpopKeyPair(storage, KEY);
    expect(await samePair(a, again)).toBe(true);
    expect(again.privateKey.extractable).toBe(false);
    expect(a.privateKey.extractable).toBe(false); // the creator gets the imported pair too, not the extractable one
    expect(storage.set).toHaveBeenCalledTimes(1);
  });

  it('across two processes over one string storage with setIfAbsent, its lock makes them agree', async () => {
    const { views, set } = lockingStringStorage();
    const pairs = await Promise.all([...views, ...views].map((view) => loadOrCreateDpopKeyPair(view, KEY)));
    for (const pair of pairs) expect(await samePair(pairs[0]!, pair)).toBe(true);
    expect(set.mock.calls.filter(([key]) => key === KEY)).toHaveLength(1);
    expect(await views[0]!.get(`${KEY}:lock`)).toBeUndefined(); // released
  });

  it('keeps the alg it was created with (RS256 as a JWK: the stored alg tells it from PS256)', async () => {
    const { storage } = stringStorage();
    const created = await loadOrCreateDpopKeyPair(storage, KEY, { alg: 'RS256' });
    const read = await loadOrCreateDpopKeyPair(storage, KEY, { alg: 'ES256' }); // a stored key wins
    expect(read.privateKey.algorithm).toMatchObject({ name: 'RSASSA-PKCS1-v1_5' });
    expect(await dpopJkt(read)).toBe(await dpopJkt(created));
  });

  it('a corrupt stored key is a storage_error naming storage.dpopKey, and never quotes it', async () => {
    const other = JSON.parse(JSON.stringify(await exportJWK((await generateDpopKeyPair({ extractable: true })).privateKey as CryptoKey)));
    const mine = JSON.parse(JSON.stringify(await exportJWK((await generateDpopKeyPair({ extractable: true })).privateKey as CryptoKey)));
    const rsaA = await exportJWK((await generateDpopKeyPair({ alg: 'RS256', extractable: true })).privateKey as CryptoKey);
    const rsaB = await exportJWK((await generateDpopKeyPair({ alg: 'RS256', extractable: true })).privateKey as CryptoKey);
    const corrupt = [
      `{"kty":"EC","d":"${mine.d}"`, // not JSON
      JSON.stringify({ ...mine, alg: 'ES256', d: undefined }), // no private part
      JSON.stringify({ ...mine, alg: 'ES384' }), // the alg does not fit the curve
      JSON.stringify({ ...mine, alg: 'ES256', d: other.d }), // private and public from two keys
      JSON.stringify({ ...mine, alg: 'none' }),
      // An RSA key imports whatever its parts: only a signature shows they are from two keys.
      JSON.stringify({ ...rsaB, n: rsaA.n, alg: 'RS256' }),
    ];
    for (const value of corrupt) {
      const { storage, map } = stringStorage();
      map.set(KEY, value);
      const error = await loadOrCreateDpopKeyPair(storage, KEY).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'OAuthError', code: 'storage_error', field: 'storage.dpopKey' });
      expect(JSON.stringify({ message: (error as Error).message, cause: (error as Error).cause })).not.toContain(mine.d);
    }
  });

  it('a corrupt stored CryptoKeyPair is a storage_error too', async () => {
    const storage = memoryStorage();
    const pair = await generateDpopKeyPair();
    await storage.setKeyPairIfAbsent!(KEY, { publicKey: pair.privateKey, privateKey: pair.publicKey });
    await expect(loadOrCreateDpopKeyPair(storage, KEY)).rejects.toMatchObject({ code: 'storage_error', field: 'storage.dpopKey' });
  });

  it('indexedDbStorage (fake-indexeddb) structured-clones the pair: another tab gets the same non-extractable key', async () => {
    const idb = new IDBFactory();
    const tabs = [indexedDbStorage({ indexedDB: idb }), indexedDbStorage({ indexedDB: idb })];
    const [a, b] = await Promise.all(tabs.map((tab) => loadOrCreateDpopKeyPair(tab, KEY)));
    expect(await samePair(a!, b!)).toBe(true);
    expect(b!.privateKey.extractable).toBe(false);
    expect(await tabs[0]!.get(KEY)).toBeUndefined(); // no JWK was written
    const later = await loadOrCreateDpopKeyPair(indexedDbStorage({ indexedDB: idb }), KEY);
    expect(await samePair(a!, later)).toBe(true);
    await tabs[1]!.delete(KEY);
    expect(await tabs[0]!.getKeyPair!(KEY)).toBeUndefined();
  });
});
