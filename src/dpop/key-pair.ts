import * as z from 'zod/mini';
import { base64url } from '../crypto/base64url.js';
import type { CryptoKeyLike, CryptoKeyPairLike, JsonWebKeyLike } from '../crypto/web-types.js';
import { OAuthError, isOAuthError } from '../errors.js';
import type { Storage } from '../services/types.js';

/** The JWS algorithms a DPoP key can have (RFC 9449 §4.2: asymmetric only). */
export const DPOP_ALGS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'] as const;
export type DpopAlg = (typeof DPOP_ALGS)[number];

/** The public members of a JWK, nothing else (no d, key_ops, ext). */
export interface PublicJwk {
  kty: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

export interface DpopKeyOptions {
  /** Default ES256, which every DPoP server supports in practice. */
  alg?: DpopAlg;
}

const subtle = () => globalThis.crypto.subtle;

const invalid = (field: string, message: string) => new OAuthError('invalid_configuration', `${field} ${message}`, { field });

/** What WebCrypto calls each algorithm; RSA keys are 2048 bits with e = 65537. */
function keyAlgorithm(alg: DpopAlg) {
  switch (alg) {
    case 'ES256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ES384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    case 'RS256':
    case 'PS256':
      return { name: alg === 'RS256' ? 'RSASSA-PKCS1-v1_5' : 'RSA-PSS', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
    case 'EdDSA':
      return { name: 'Ed25519' };
  }
}

/** The DPoP algorithm a WebCrypto key signs with, or undefined when it is none of DPOP_ALGS. */
export function dpopAlgOf(key: CryptoKeyLike): DpopAlg | undefined {
  const algorithm = key.algorithm as { name: string; namedCurve?: string; hash?: { name?: string } };
  switch (algorithm.name) {
    case 'ECDSA':
      return algorithm.namedCurve === 'P-256' ? 'ES256' : algorithm.namedCurve === 'P-384' ? 'ES384' : undefined;
    case 'RSASSA-PKCS1-v1_5':
      return algorithm.hash?.name === 'SHA-256' ? 'RS256' : undefined;
    case 'RSA-PSS':
      return algorithm.hash?.name === 'SHA-256' ? 'PS256' : undefined;
    case 'Ed25519':
      return 'EdDSA';
    default:
      return undefined;
  }
}

/**
 * A fresh DPoP key pair (WebCrypto). The private key is non-extractable unless asked: it can sign
 * but never be read, not even by this page's scripts. The public key is always extractable.
 */
export async function generateDpopKeyPair(options: DpopKeyOptions & { extractable?: boolean } = {}): Promise<CryptoKeyPairLike> {
  const alg = options.alg ?? 'ES256';
  if (!DPOP_ALGS.includes(alg)) throw invalid('alg', `must be one of ${DPOP_ALGS.join(', ')}`);
  return (await subtle().generateKey(keyAlgorithm(alg), options.extractable ?? false, ['sign', 'verify'])) as CryptoKeyPair;
}

/** The required members of RFC 7638 §3.2, in lexicographic order, by kty. */
const THUMBPRINT_MEMBERS: Record<string, readonly (keyof JsonWebKeyLike)[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
  oct: ['k', 'kty'],
};
const PUBLIC_MEMBERS: Record<string, readonly (keyof PublicJwk)[]> = { EC: ['crv', 'x', 'y'], RSA: ['n', 'e'], OKP: ['crv', 'x'] };

const publicJwks = new WeakMap<object, Promise<PublicJwk>>();

/** The public JWK of a public key (only its public members), for the proof's `jwk` header. */
export async function publicJwkOf(publicKey: CryptoKeyLike): Promise<PublicJwk> {
  if (publicKey?.type !== 'public') throw invalid('publicKey', 'must be a public CryptoKey');
  let jwk = publicJwks.get(publicKey);
  if (!jwk) {
    jwk = subtle()
      .exportKey('jwk', publicKey as CryptoKey)
      .then((full) => {
        const members = full.kty && Object.hasOwn(PUBLIC_MEMBERS, full.kty) ? PUBLIC_MEMBERS[full.kty] : undefined;
        if (!members) throw invalid('publicKey', `is a ${full.kty} key: DPoP needs EC, RSA or OKP`);
        const out: PublicJwk = { kty: full.kty! };
        for (const member of members) if (typeof full[member] === 'string') out[member] = full[member];
        return out;
      });
    publicJwks.set(publicKey, jwk);
    jwk.catch(() => publicJwks.delete(publicKey));
  }
  return { ...(await jwk) }; // a copy: the cached one stays as exported
}

/** The RFC 7638 JWK SHA-256 thumbprint, base64url: `dpop_jkt` (RFC 9449 §10) and `cnf.jkt`. */
export async function jwkThumbprint(jwk: JsonWebKeyLike | PublicJwk): Promise<string> {
  // Own members only: a kty of "constructor" or "__proto__" is not a key type.
  const members = typeof jwk?.kty === 'string' && Object.hasOwn(THUMBPRINT_MEMBERS, jwk.kty) ? THUMBPRINT_MEMBERS[jwk.kty] : undefined;
  if (!members) throw invalid('jwk.kty', 'must be EC, RSA, OKP or oct');
  const required: Record<string, string> = {};
  for (const member of members) {
    const value = (jwk as JsonWebKeyLike)[member];
    if (typeof value !== 'string' || value.length === 0) throw invalid(`jwk.${member}`, `is required for a ${jwk.kty} thumbprint`);
    required[member] = value;
  }
  // Built in lexicographic order; JSON.stringify adds no whitespace (RFC 7638 §3.3).
  const digest = await subtle().digest('SHA-256', new TextEncoder().encode(JSON.stringify(required)));
  return base64url(new Uint8Array(digest));
}

/** The `dpop_jkt` authorization request parameter for a key pair (RFC 9449 §10). */
export async function dpopJkt(keyPair: CryptoKeyPairLike): Promise<string> {
  return jwkThumbprint(await publicJwkOf(keyPair.publicKey));
}

// ---- Persistence -------------------------------------------------------------------------------

const FIELD = 'storage.dpopKey';
const corrupt = (problem: string) => new OAuthError('storage_error', `the stored DPoP key ${problem}`, { field: FIELD });
const storageFailure = (what: string, error: unknown) =>
  isOAuthError(error) && error.code === 'storage_error' ? error : new OAuthError('storage_error', `could not ${what} the DPoP key: ${error instanceof Error ? error.message : String(error)}`, { cause: error });

const b64u = z.string().check(z.regex(/^[A-Za-z0-9_-]+$/));
/** A stored private JWK, with the alg we generated it for (an RSA JWK cannot tell RS256 from PS256). */
const StoredJwkSchema = z.discriminatedUnion('kty', [
  z.object({ kty: z.literal('EC'), alg: z.enum(['ES256', 'ES384']), crv: z.enum(['P-256', 'P-384']), x: b64u, y: b64u, d: b64u }),
  z.object({ kty: z.literal('RSA'), alg: z.enum(['RS256', 'PS256']), n: b64u, e: b64u, d: b64u, p: b64u, q: b64u, dp: b64u, dq: b64u, qi: b64u }),
  z.object({ kty: z.literal('OKP'), alg: z.literal('EdDSA'), crv: z.literal('Ed25519'), x: b64u, d: b64u }),
]);

const signParams = (alg: DpopAlg) =>
  alg === 'PS256' ? { name: 'RSA-PSS', saltLength: 32 } : alg.startsWith('ES') ? { name: 'ECDSA', hash: alg === 'ES256' ? 'SHA-256' : 'SHA-384' } : keyAlgorithm(alg);

/** Parses a stored JWK and imports it: the private key non-extractable, checked to match the public one. */
async function importStored(raw: string): Promise<CryptoKeyPairLike> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw corrupt('is not valid JSON'); // no cause: a SyntaxError quotes the (secret) text
  }
  const parsed = z.safeParse(StoredJwkSchema, json);
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path.map(String).join('.');
    throw corrupt(`is not a private JWK grantflow can use${path ? ` (at "${path}")` : ''}`);
  }
  const { alg, ...jwk } = parsed.data;
  const algorithm = keyAlgorithm(alg);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk as Partial<Record<string, string>>;
  try {
    const privateKey = await subtle().importKey('jwk', jwk, algorithm, false, ['sign']);
    const publicKey = await subtle().importKey('jwk', publicJwk as JsonWebKey, algorithm, true, ['verify']);
    // A mismatched pair would sign proofs no server accepts: find out now.
    const probe = new Uint8Array([0x64, 0x70, 0x6f, 0x70]);
    const signature = await subtle().sign(signParams(alg), privateKey, probe);
    if (!(await subtle().verify(signParams(alg), publicKey, signature, probe))) throw new Error('mismatch');
    return { publicKey, privateKey };
  } catch {
    throw corrupt('cannot be imported, or its private and public parts do not match');
  }
}

/** A stored CryptoKeyPair, checked: a public and a private key of one DPoP algorithm, the private one able to sign. */
function checkNative(pair: CryptoKeyPairLike | undefined): CryptoKeyPairLike {
  const { publicKey, privateKey } = (pair ?? {}) as Partial<CryptoKeyPairLike>;
  const ok =
    publicKey?.type === 'public' && privateKey?.type === 'private' && Array.isArray(privateKey.usages) && privateKey.usages.includes('sign') && dpopAlgOf(privateKey) !== undefined && dpopAlgOf(privateKey) === dpopAlgOf(publicKey);
  if (!ok) throw corrupt('is not a DPoP CryptoKeyPair');
  return pair!;
}

async function serialize(pair: CryptoKeyPairLike, alg: DpopAlg): Promise<string> {
  const jwk = await subtle().exportKey('jwk', pair.privateKey as CryptoKey);
  return JSON.stringify(z.parse(StoredJwkSchema, { ...jwk, alg })); // drops key_ops and ext
}

/** How long the creation lock lives, how often a waiter looks, and how long it waits in all. */
const LOCK_TTL_MS = 10_000;
const POLL_MS = 20;
const MAX_WAIT_MS = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const monotonicNow = () => globalThis.performance?.now() ?? Date.now();

async function read(storage: Storage, key: string): Promise<string | undefined> {
  try {
    return await storage.get(key);
  } catch (error) {
    throw storageFailure('read', error);
  }
}

/** Generates, stores and reads back: the pair returned is the one stored (the last writer's). */
async function create(storage: Storage, key: string, alg: DpopAlg): Promise<CryptoKeyPairLike> {
  const json = await serialize(await generateDpopKeyPair({ alg, extractable: true }), alg);
  try {
    await storage.set(key, json);
  } catch (error) {
    throw storageFailure('store', error);
  }
  const stored = await read(storage, key);
  if (stored === undefined) throw new OAuthError('storage_error', 'the DPoP key was stored but cannot be read back', { field: FIELD });
  return importStored(stored);
}

/**
 * A string-only storage: the pair is kept as a private JWK. setIfAbsent serves as a short lock
 * around creation, not as the write itself: its values expire, and some adapters (webStorage)
 * let a later caller take an old lease over, which would replace the key.
 */
async function loadOrCreateJwk(storage: Storage, key: string, alg: DpopAlg): Promise<CryptoKeyPairLike> {
  const started = monotonicNow();
  for (;;) {
    const stored = await read(storage, key);
    if (stored !== undefined) return importStored(stored);
    if (!storage.setIfAbsent) return create(storage, key, alg); // one process: single-flight is all there is
    const lockKey = `${key}:lock`;
    const token = base64url(globalThis.crypto.getRandomValues(new Uint8Array(16)));
    let acquired: boolean;
    try {
      acquired = await storage.setIfAbsent(lockKey, token, LOCK_TTL_MS);
    } catch (error) {
      throw storageFailure('lock', error);
    }
    if (acquired) {
      try {
        const made = await read(storage, key); // by the previous holder, between our read and our lock
        return made === undefined ? await create(storage, key, alg) : await importStored(made);
      } finally {
        await (storage.deleteIfEquals ? storage.deleteIfEquals(lockKey, token) : storage.delete(lockKey)).catch(() => {});
      }
    }
    if (monotonicNow() - started > MAX_WAIT_MS) {
      throw new OAuthError('lock_timeout', `waited ${MAX_WAIT_MS} ms for another caller to create the DPoP key`, { field: 'lock', retryable: true });
    }
    await sleep(POLL_MS);
  }
}

async function loadOrCreate(storage: Storage, key: string, alg: DpopAlg): Promise<CryptoKeyPairLike> {
  const { getKeyPair, setKeyPairIfAbsent } = storage;
  if (!getKeyPair || !setKeyPairIfAbsent) return loadOrCreateJwk(storage, key, alg);
  let found: CryptoKeyPairLike | undefined;
  try {
    found = await getKeyPair.call(storage, key);
  } catch (error) {
    throw storageFailure('read', error);
  }
  if (found !== undefined) return checkNative(found);
  const pair = await generateDpopKeyPair({ alg, extractable: false });
  try {
    return checkNative(await setKeyPairIfAbsent.call(storage, key, pair));
  } catch (error) {
    throw storageFailure('store', error);
  }
}

/** Calls in flight, by storage and key: concurrent callers in one process share one. */
const inFlight = new WeakMap<Storage, Map<string, Promise<CryptoKeyPairLike>>>();

/**
 * The DPoP key pair stored under `storageKey`, created when there is none. Where the storage keeps
 * CryptoKeyPairs (getKeyPair/setKeyPairIfAbsent) the private key is non-extractable for good;
 * elsewhere it is kept as a private JWK string (a secret: use an encrypted or private storage)
 * and imported back non-extractable. Concurrent callers get the same pair: single-flight in one
 * process, and setKeyPairIfAbsent or a setIfAbsent lock across processes. A stored pair wins over
 * `options.alg` (the key is the client's identity; tokens are bound to it). Corrupt data is a
 * `storage_error` with field `storage.dpopKey`.
 */
export function loadOrCreateDpopKeyPair(storage: Storage, storageKey: string, options: DpopKeyOptions = {}): Promise<CryptoKeyPairLike> {
  const alg = options.alg ?? 'ES256';
  if (!DPOP_ALGS.includes(alg)) return Promise.reject(invalid('alg', `must be one of ${DPOP_ALGS.join(', ')}`));
  let calls = inFlight.get(storage);
  if (!calls) inFlight.set(storage, (calls = new Map()));
  const running = calls.get(storageKey);
  if (running) return running;
  const call = loadOrCreate(storage, storageKey, alg).finally(() => {
    if (calls.get(storageKey) === call) calls.delete(storageKey);
  });
  calls.set(storageKey, call);
  return call;
}
