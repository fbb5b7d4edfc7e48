import { IDBFactory } from 'fake-indexeddb';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import type { CryptoKeyLike, CryptoKeyPairLike } from '../../src/crypto/web-types.js';
import { dpopAlgOf, dpopJkt, generateDpopKeyPair, jwkThumbprint, loadOrCreateDpopKeyPair, publicJwkOf } from '../../src/dpop/index.js';
import { OAuthError } from '../../src/errors.js';
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

// ---- Mutation-testing additions: each block pins one rule of key-pair.ts ----------------------

/** The error a promise rejects with (it must reject). */
async function rejectionOf(promise: Promise<unknown>): Promise<OAuthError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OAuthError);
  return error as OAuthError;
}

const ALG_LIST = 'ES256, ES384, RS256, PS256, EdDSA';

describe('dpopAlgOf', () => {
  const of = (algorithm: Record<string, unknown>) => dpopAlgOf({ type: 'private', extractable: false, usages: ['sign'], algorithm } as unknown as CryptoKeyLike);

  it('names the DPoP algorithm of each kind of key it can sign with', () => {
    expect(of({ name: 'ECDSA', namedCurve: 'P-256' })).toBe('ES256');
    expect(of({ name: 'ECDSA', namedCurve: 'P-384' })).toBe('ES384');
    expect(of({ name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } })).toBe('RS256');
    expect(of({ name: 'RSA-PSS', hash: { name: 'SHA-256' } })).toBe('PS256');
    expect(of({ name: 'Ed25519' })).toBe('EdDSA');
  });

  it('is undefined for a curve, a hash or an algorithm that is none of DPOP_ALGS (and never throws on a missing hash)', () => {
    expect(of({ name: 'ECDSA', namedCurve: 'P-521' })).toBeUndefined();
    expect(of({ name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-384' } })).toBeUndefined();
    expect(of({ name: 'RSA-PSS', hash: { name: 'SHA-512' } })).toBeUndefined();
    expect(of({ name: 'RSASSA-PKCS1-v1_5' })).toBeUndefined();
    expect(of({ name: 'RSA-PSS' })).toBeUndefined();
    expect(of({ name: 'HMAC', hash: { name: 'SHA-256' } })).toBeUndefined();
    expect(of({ name: 'ECDH', namedCurve: 'P-256' })).toBeUndefined();
  });
});

describe('generateDpopKeyPair and loadOrCreateDpopKeyPair refuse an alg that is not a DPoP one', () => {
  it('generateDpopKeyPair: invalid_configuration, field alg, listing the algorithms', async () => {
    const error = await rejectionOf(generateDpopKeyPair({ alg: 'HS256' as never }));
    expect(error).toMatchObject({ code: 'invalid_configuration', field: 'alg', message: `alg must be one of ${ALG_LIST}` });
  });

  it('loadOrCreateDpopKeyPair: the same, before the storage is touched', async () => {
    const { storage } = stringStorage();
    const error = await rejectionOf(loadOrCreateDpopKeyPair(storage, KEY, { alg: 'none' as never }));
    expect(error).toMatchObject({ code: 'invalid_configuration', field: 'alg', message: `alg must be one of ${ALG_LIST}` });
    expect(storage.get).not.toHaveBeenCalled();
  });
});

describe('publicJwkOf: refusals and its cache', () => {
  it('anything but a public CryptoKey is invalid_configuration, field publicKey (undefined too, not a TypeError)', async () => {
    for (const key of [undefined, null, {}]) {
      const error = await rejectionOf(publicJwkOf(key as never));
      expect(error).toMatchObject({ code: 'invalid_configuration', field: 'publicKey', message: 'publicKey must be a public CryptoKey' });
    }
  });

  it('exports a key once; each caller gets its own copy', async () => {
    const { publicKey } = await generateDpopKeyPair();
    const exportKey = vi.spyOn(subtle, 'exportKey');
    try {
      const first = await publicJwkOf(publicKey);
      first.x = 'changed by the caller';
      const second = await publicJwkOf(publicKey);
      expect(second.x).not.toBe('changed by the caller');
      expect(exportKey).toHaveBeenCalledTimes(1);
    } finally {
      exportKey.mockRestore();
    }
  });

  it('a key type DPoP cannot use (e.g. AKP) is refused naming it, and the failure is not cached', async () => {
    const { publicKey } = await generateDpopKeyPair();
    const exportKey = vi.spyOn(subtle, 'exportKey').mockResolvedValueOnce({ kty: 'AKP', pub: 'abc' } as JsonWebKey);
    try {
      const error = await rejectionOf(publicJwkOf(publicKey));
      expect(error).toMatchObject({ code: 'invalid_configuration', field: 'publicKey', message: 'publicKey is a AKP key: DPoP needs EC, RSA or OKP' });
      // The next call exports again (the real WebCrypto now) and succeeds.
      expect(Object.keys(await publicJwkOf(publicKey)).sort()).toEqual(['crv', 'kty', 'x', 'y']);
      expect(exportKey).toHaveBeenCalledTimes(2);
    } finally {
      exportKey.mockRestore();
    }
  });
});

describe('jwkThumbprint: refusals, and oct keys', () => {
  it('a JWK without a known string kty is invalid_configuration, field jwk.kty (undefined and null too)', async () => {
    for (const jwk of [undefined, null, {}, { kty: 'XYZ' }, { kty: ['EC'], crv: 'P-256', x: 'x', y: 'y' }, { kty: 7 }, { kty: 'constructor' }, { kty: 'toString' }, { kty: '__proto__' }]) {
      const error = await rejectionOf(jwkThumbprint(jwk as never));
      expect(error).toMatchObject({ code: 'invalid_configuration', field: 'jwk.kty', message: 'jwk.kty must be EC, RSA, OKP or oct' });
    }
  });

  it('a required member that is missing, empty or not a string names itself', async () => {
    expect(await rejectionOf(jwkThumbprint({ kty: 'RSA', e: '', n: 'abc' }))).toMatchObject({ field: 'jwk.e', message: 'jwk.e is required for a RSA thumbprint' });
    expect(await rejectionOf(jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'x', y: 7 } as never))).toMatchObject({ field: 'jwk.y', message: 'jwk.y is required for a EC thumbprint' });
  });

  it('an oct key’s thumbprint is over k and kty, as jose computes it', async () => {
    const jwk = { kty: 'oct', k: 'GawgguFyGrWKav7AX4VKUg', alg: 'HS256' };
    expect(await jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk));
    expect(await rejectionOf(jwkThumbprint({ kty: 'oct' }))).toMatchObject({ field: 'jwk.k' });
  });
});

describe('loadOrCreateDpopKeyPair: every algorithm through a string storage', () => {
  it.each(['ES384', 'PS256', 'EdDSA'] as const)('%s is stored as a private JWK with its alg and read back as the same pair', async (alg) => {
    const { storage, map } = stringStorage();
    const created = await loadOrCreateDpopKeyPair(storage, KEY, { alg });
    expect(dpopAlgOf(created.privateKey)).toBe(alg);
    expect(JSON.parse(map.get(KEY)!)).toMatchObject({ alg, d: expect.any(String) });
    const read = await loadOrCreateDpopKeyPair(storage, KEY);
    expect(dpopAlgOf(read.privateKey)).toBe(alg);
    expect(read.privateKey.extractable).toBe(false);
    expect(await dpopJkt(read)).toBe(await dpopJkt(created));
    expect(storage.set).toHaveBeenCalledTimes(1);
  });
});

describe('loadOrCreateDpopKeyPair: what a corrupt stored JWK is told as', () => {
  async function refusal(value: string) {
    const { storage, map } = stringStorage();
    map.set(KEY, value);
    const error = await rejectionOf(loadOrCreateDpopKeyPair(storage, KEY));
    expect(error).toMatchObject({ code: 'storage_error', field: 'storage.dpopKey' });
    return error.message;
  }

  it('not JSON, not an object, a field that does not fit, a mismatched pair: each says which', async () => {
    const jwk = JSON.parse(JSON.stringify(await exportJWK((await generateDpopKeyPair({ extractable: true })).privateKey as CryptoKey))) as Record<string, string>;
    const other = JSON.parse(JSON.stringify(await exportJWK((await generateDpopKeyPair({ extractable: true })).privateKey as CryptoKey))) as Record<string, string>;
    expect(await refusal('{"kty":')).toBe('the stored DPoP key is not valid JSON');
    expect(await refusal('42')).toBe('the stored DPoP key is not a private JWK grantflow can use');
    expect(await refusal(JSON.stringify({ ...jwk, kty: 'oct', alg: 'ES256' }))).toBe('the stored DPoP key is not a private JWK grantflow can use (at "kty")');
    expect(await refusal(JSON.stringify({ ...jwk, alg: 'ES256', d: undefined }))).toBe('the stored DPoP key is not a private JWK grantflow can use (at "d")');
    // base64url only: a standard-base64 "+" or "=" anywhere is refused by the schema, not by the import.
    expect(await refusal(JSON.stringify({ ...jwk, alg: 'ES256', x: `+${jwk.x}` }))).toBe('the stored DPoP key is not a private JWK grantflow can use (at "x")');
    expect(await refusal(JSON.stringify({ ...jwk, alg: 'ES256', x: `${jwk.x}=` }))).toBe('the stored DPoP key is not a private JWK grantflow can use (at "x")');
    expect(await refusal(JSON.stringify({ ...jwk, alg: 'ES256', d: other.d }))).toBe('the stored DPoP key cannot be imported, or its private and public parts do not match');
  });
});

describe('loadOrCreateDpopKeyPair: a stored CryptoKeyPair is checked', () => {
  const fake = (algorithm: KeyAlgorithm, props: Record<string, unknown>) => ({ algorithm, extractable: false, ...props }) as unknown as CryptoKeyLike;

  it('each way a pair can be wrong is a storage_error saying so', async () => {
    const pair = await generateDpopKeyPair();
    const rsa = await generateDpopKeyPair({ alg: 'RS256' });
    const p521 = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-521' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const { algorithm } = pair.privateKey;
    const wrong: Array<[string, unknown]> = [
      ['no public key', { privateKey: pair.privateKey }],
      ['no private key', { publicKey: pair.publicKey }],
      ['the private key as the public one', { publicKey: pair.privateKey, privateKey: pair.privateKey }],
      ['a "private" key that is not private', { publicKey: pair.publicKey, privateKey: fake(algorithm, { type: 'secret', usages: ['sign'] }) }],
      ['a private key without usages', { publicKey: pair.publicKey, privateKey: fake(algorithm, { type: 'private' }) }],
      ['a private key that cannot sign', { publicKey: pair.publicKey, privateKey: fake(algorithm, { type: 'private', usages: ['verify'] }) }],
      ['a pair of no DPoP algorithm (P-521)', p521],
      ['two algorithms', { publicKey: rsa.publicKey, privateKey: pair.privateKey }],
    ];
    for (const [name, stored] of wrong) {
      const storage = memoryStorage();
      await storage.setKeyPairIfAbsent!(KEY, stored as CryptoKeyPairLike);
      const error = await loadOrCreateDpopKeyPair(storage, KEY).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(OAuthError);
      expect(error, name).toMatchObject({ code: 'storage_error', field: 'storage.dpopKey', message: 'the stored DPoP key is not a DPoP CryptoKeyPair' });
    }
  });

  it('a setKeyPairIfAbsent that resolves nothing is a storage_error too', async () => {
    const storage: Storage = { ...memoryStorage(), setKeyPairIfAbsent: async () => undefined as never };
    expect(await rejectionOf(loadOrCreateDpopKeyPair(storage, KEY))).toMatchObject({ code: 'storage_error', field: 'storage.dpopKey' });
  });

  it('a stored pair is read, not replaced: setKeyPairIfAbsent is called only when there is none', async () => {
    const storage = memoryStorage();
    const setKeyPair = vi.spyOn(storage, 'setKeyPairIfAbsent');
    const first = await loadOrCreateDpopKeyPair(storage, KEY);
    expect(await loadOrCreateDpopKeyPair(storage, KEY)).toBe(first);
    expect(await loadOrCreateDpopKeyPair({ ...storage }, KEY)).toBe(first);
    expect(setKeyPair).toHaveBeenCalledTimes(1);
  });

  it('a key-pair storage gets the asked alg, non-extractable', async () => {
    const pair = await loadOrCreateDpopKeyPair(memoryStorage(), KEY, { alg: 'RS256' });
    expect(dpopAlgOf(pair.privateKey)).toBe('RS256');
    expect(pair.privateKey.extractable).toBe(false);
  });

  it('a storage with getKeyPair but no setKeyPairIfAbsent keeps a JWK string instead', async () => {
    const { storage, map } = stringStorage();
    const getKeyPair = vi.fn(async () => undefined);
    const pair = await loadOrCreateDpopKeyPair({ ...storage, getKeyPair }, KEY);
    expect(JSON.parse(map.get(KEY)!)).toMatchObject({ kty: 'EC', alg: 'ES256' });
    expect(getKeyPair).not.toHaveBeenCalled();
    expect(await dpopJkt(pair)).toBe(await jwkThumbprint(JSON.parse(map.get(KEY)!)));
  });
});

describe('loadOrCreateDpopKeyPair: storage failures', () => {
  const boom = new Error('disk gone');
  const failing = (overrides: Partial<Storage>): Storage => ({ ...stringStorage().storage, ...overrides });

  it('a failed read, write or lock is a storage_error saying which, with the cause', async () => {
    const cases: Array<[Storage, string]> = [
      [failing({ get: async () => Promise.reject(boom) }), 'could not read the DPoP key: disk gone'],
      [failing({ set: async () => Promise.reject(boom) }), 'could not store the DPoP key: disk gone'],
      [failing({ setIfAbsent: async () => Promise.reject(boom) }), 'could not lock the DPoP key: disk gone'],
      [{ ...memoryStorage(), getKeyPair: async () => Promise.reject(boom) }, 'could not read the DPoP key: disk gone'],
      [{ ...memoryStorage(), setKeyPairIfAbsent: async () => Promise.reject(boom) }, 'could not store the DPoP key: disk gone'],
    ];
    for (const [storage, message] of cases) {
      const error = await rejectionOf(loadOrCreateDpopKeyPair(storage, KEY));
      expect(error).toMatchObject({ code: 'storage_error', message });
      expect(error.cause).toBe(boom);
    }
  });

  it('a thrown non-Error is quoted as a string', async () => {
    const error = await rejectionOf(loadOrCreateDpopKeyPair(failing({ get: async () => Promise.reject('quota exceeded') }), KEY));
    expect(error).toMatchObject({ code: 'storage_error', message: 'could not read the DPoP key: quota exceeded', cause: 'quota exceeded' });
  });

  it("the storage's own storage_error passes through as it is; its other OAuthErrors are wrapped", async () => {
    const own = new OAuthError('storage_error', 'redis is read-only', { field: 'storage' });
    expect(await rejectionOf(loadOrCreateDpopKeyPair(failing({ get: async () => Promise.reject(own) }), KEY))).toBe(own);
    const other = new OAuthError('network_error', 'connection reset');
    const wrapped = await rejectionOf(loadOrCreateDpopKeyPair(failing({ get: async () => Promise.reject(other) }), KEY));
    expect(wrapped).not.toBe(other);
    expect(wrapped).toMatchObject({ code: 'storage_error', message: 'could not read the DPoP key: connection reset' });
    expect(wrapped.cause).toBe(other);
  });

  it('a key written but not readable back is a storage_error saying so', async () => {
    const error = await rejectionOf(loadOrCreateDpopKeyPair(failing({ set: async () => {} }), KEY));
    expect(error).toMatchObject({ code: 'storage_error', field: 'storage.dpopKey', message: 'the DPoP key was stored but cannot be read back' });
  });

  it('a failed call is not kept: the next call tries again, and a finished one is not reused', async () => {
    const inner = memoryStorage();
    let down = true;
    const storage: Storage = { ...inner, getKeyPair: async (key) => (down ? Promise.reject(boom) : inner.getKeyPair!(key)) };
    await rejectionOf(loadOrCreateDpopKeyPair(storage, KEY));
    down = false;
    const first = await loadOrCreateDpopKeyPair(storage, KEY);
    await storage.delete(KEY);
    const second = await loadOrCreateDpopKeyPair(storage, KEY);
    expect(second).not.toBe(first);
    expect(await dpopJkt(second)).not.toBe(await dpopJkt(first));
  });
});

describe('loadOrCreateDpopKeyPair: the creation lock of a string storage', () => {
  it('is `${key}:lock`, held 10 s with a random token, and released with deleteIfEquals', async () => {
    const { strings } = lockingStringStorage();
    const setIfAbsent = vi.spyOn(strings, 'setIfAbsent');
    const deleteIfEquals = vi.spyOn(strings, 'deleteIfEquals');
    await loadOrCreateDpopKeyPair(strings, KEY);
    expect(setIfAbsent).toHaveBeenCalledTimes(1);
    const [lockKey, token, ttl] = setIfAbsent.mock.calls[0]!;
    expect([lockKey, ttl]).toEqual([`${KEY}:lock`, 10_000]);
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(deleteIfEquals).toHaveBeenCalledWith(`${KEY}:lock`, token);
    expect(await strings.get(`${KEY}:lock`)).toBeUndefined();
  });

  it('without deleteIfEquals the lock is released with delete', async () => {
    const { deleteIfEquals: _d, ...strings } = lockingStringStorage().strings;
    const del = vi.spyOn(strings, 'delete');
    await loadOrCreateDpopKeyPair(strings, KEY);
    expect(del).toHaveBeenCalledWith(`${KEY}:lock`);
    expect(await strings.get(`${KEY}:lock`)).toBeUndefined();
  });

  it('a key another process stored between our read and our lock is used, not replaced', async () => {
    const { strings } = lockingStringStorage();
    const json = JSON.stringify({ ...(await exportJWK((await generateDpopKeyPair({ extractable: true })).privateKey as CryptoKey)), alg: 'ES256' });
    let reads = 0;
    const racing: Storage = {
      ...strings,
      // The first read finds nothing; by the time the lock is ours, the other process has written.
      get: async (key) => (key === KEY && reads++ === 0 ? undefined : key === KEY ? json : strings.get(key)),
      set: vi.fn(strings.set),
    };
    const pair = await loadOrCreateDpopKeyPair(racing, KEY);
    expect(racing.set).not.toHaveBeenCalled();
    expect(await dpopJkt(pair)).toBe(await jwkThumbprint(JSON.parse(json)));
  });

  it('a lock never released is lock_timeout (retryable) once 30 s have passed, not before', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    try {
      const storage: Storage = { get: async () => undefined, set: async () => {}, delete: async () => {}, setIfAbsent: vi.fn(async () => false) };
      let settled: unknown = 'pending';
      const call = loadOrCreateDpopKeyPair(storage, KEY).catch((e: unknown) => (settled = e));
      await vi.advanceTimersByTimeAsync(30_000);
      expect(settled).toBe('pending');
      expect((storage.setIfAbsent as ReturnType<typeof vi.fn>).mock.calls.length).toBeGreaterThan(1000); // it kept looking, every 20 ms
      await vi.advanceTimersByTimeAsync(20);
      await call;
      expect(settled).toBeInstanceOf(OAuthError);
      expect(settled).toMatchObject({ code: 'lock_timeout', field: 'lock', retryable: true, message: 'waited 30000 ms for another caller to create the DPoP key' });
    } finally {
      vi.useRealTimers();
    }
  });
});
