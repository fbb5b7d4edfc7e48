import type { CryptoKeyPairLike } from '../crypto/web-types.js';
import type { Clock, Storage } from './types.js';

/**
 * In-memory storage (the default): honours ttlMs, and has setIfAbsent and take, atomic within one
 * process. Key pairs are kept as the objects they are (a non-extractable key never leaves WebCrypto).
 */
export function memoryStorage(options: { clock?: Clock } = {}): Storage {
  const clock = options.clock ?? { now: () => Date.now() };
  const entries = new Map<string, { value: string; expiresAt: number | undefined }>();
  const keyPairs = new Map<string, CryptoKeyPairLike>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt !== undefined && entry.expiresAt <= clock.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    async get(key) {
      return live(key)?.value;
    },
    async set(key, value, setOptions) {
      entries.set(key, { value, expiresAt: setOptions?.ttlMs === undefined ? undefined : clock.now() + setOptions.ttlMs });
    },
    async delete(key) {
      entries.delete(key);
      keyPairs.delete(key);
    },
    async setIfAbsent(key, value, ttlMs) {
      if (live(key)) return false;
      entries.set(key, { value, expiresAt: clock.now() + ttlMs });
      return true;
    },
    async deleteIfEquals(key, value) {
      if (live(key)?.value !== value) return false;
      entries.delete(key);
      return true;
    },
    async renewIfEquals(key, value, ttlMs) {
      const entry = live(key);
      if (entry?.value !== value) return false;
      entry.expiresAt = clock.now() + ttlMs;
      return true;
    },
    async take(key) {
      const entry = live(key);
      entries.delete(key);
      return entry?.value;
    },
    async getKeyPair(key) {
      return keyPairs.get(key);
    },
    async setKeyPairIfAbsent(key, pair) {
      const found = keyPairs.get(key);
      if (found) return found;
      keyPairs.set(key, pair);
      return pair;
    },
  };
}
