import type { CryptoKeyLike } from '../crypto/web-types.js';
import { OAuthError } from '../errors.js';
import { base64url } from '../crypto/base64url.js';
import type { Storage } from './types.js';

const PREFIX = 'gfenc1.';

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

async function importKey(key: CryptoKeyLike | Uint8Array): Promise<CryptoKey> {
  if (!(key instanceof Uint8Array)) return key as CryptoKey; // the public type is a shape; at run time, WebCrypto's
  return crypto.subtle.importKey('raw', new Uint8Array(key), 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/**
 * Encryption at rest over any storage: values are sealed with AES-256-GCM (WebCrypto), a fresh
 * 12-byte IV each, and the storage key as additional data, so a value cannot be moved to
 * another key. Lock values are sealed too; deleteIfEquals opens the stored value to compare it,
 * then deletes that exact sealed value, so only the holder releases the lock.
 */
export function encryptedStorage(inner: Storage, key: CryptoKeyLike | Uint8Array): Storage {
  if (key instanceof Uint8Array && key.length !== 32) {
    throw new OAuthError('invalid_configuration', 'the encryption key must be 32 bytes (AES-256-GCM)', { field: 'key' });
  }
  const cryptoKey = importKey(key);
  cryptoKey.catch(() => {}); // reported by the first get or set that uses it
  const aad = (name: string) => new TextEncoder().encode(name);
  const seal = async (name: string, value: string) => {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad(name) }, await cryptoKey, new TextEncoder().encode(value));
    return `${PREFIX}${base64url(iv)}.${base64url(new Uint8Array(sealed))}`;
  };
  const open = async (name: string, stored: string) => {
    const [iv, sealed] = stored.startsWith(PREFIX) ? stored.slice(PREFIX.length).split('.') : [];
    if (!iv || !sealed) throw new OAuthError('storage_error', `the value under "${name}" is not encrypted by grantflow`, { field: 'storage' });
    try {
      const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64url(iv), additionalData: aad(name) }, await cryptoKey, fromBase64url(sealed));
      return new TextDecoder().decode(plain);
    } catch (error) {
      throw new OAuthError('storage_error', `the value under "${name}" could not be decrypted (wrong key, or it was tampered with)`, { cause: error });
    }
  };
  const storage: Storage = {
    async get(name) {
      const stored = await inner.get(name);
      return stored === undefined ? undefined : open(name, stored);
    },
    async set(name, value, options) {
      await inner.set(name, await seal(name, value), options);
    },
    delete: (name) => inner.delete(name),
  };
  const { setIfAbsent, deleteIfEquals, take, renewIfEquals } = inner;
  if (renewIfEquals) {
    storage.renewIfEquals = async (name, value, ttlMs) => {
      const stored = await inner.get(name);
      if (stored === undefined || (await open(name, stored)) !== value) return false;
      return renewIfEquals.call(inner, name, stored, ttlMs);
    };
  }
  if (take) {
    storage.take = async (name) => {
      const stored = await take.call(inner, name);
      return stored === undefined ? undefined : open(name, stored);
    };
  }
  if (setIfAbsent) storage.setIfAbsent = async (name, value, ttlMs) => setIfAbsent.call(inner, name, await seal(name, value), ttlMs);
  if (deleteIfEquals) {
    storage.deleteIfEquals = async (name, value) => {
      const stored = await inner.get(name);
      if (stored === undefined || (await open(name, stored)) !== value) return false;
      return deleteIfEquals.call(inner, name, stored);
    };
  }
  return storage;
}
