import type { Clock, Storage } from './types.js';

/** The part of the Web Storage API we use (sessionStorage, localStorage). */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * sessionStorage or localStorage as grantflow storage. Web Storage has no expiry, so values are
 * wrapped with their expiry time and dropped when read late.
 */
export function webStorage(store: WebStorageLike, options: { clock?: Clock; prefix?: string } = {}): Storage {
  const clock = options.clock ?? { now: () => Date.now() };
  const prefix = options.prefix ?? '';
  const read = (key: string): { v: string; e?: number } | undefined => {
    const raw = store.getItem(prefix + key);
    if (raw === null) return undefined;
    try {
      const entry = JSON.parse(raw) as { v: string; e?: number };
      if (entry.e !== undefined && entry.e <= clock.now()) {
        store.removeItem(prefix + key);
        return undefined;
      }
      return entry;
    } catch {
      return undefined;
    }
  };
  const write = (key: string, value: string, ttlMs?: number) =>
    store.setItem(prefix + key, JSON.stringify(ttlMs === undefined ? { v: value } : { v: value, e: clock.now() + ttlMs }));
  return {
    async get(key) {
      return read(key)?.v;
    },
    async set(key, value, setOptions) {
      write(key, value, setOptions?.ttlMs);
    },
    async delete(key) {
      store.removeItem(prefix + key);
    },
    // One tab runs one script at a time, so read-then-write is atomic within it.
    async setIfAbsent(key, value, ttlMs) {
      if (read(key)) return false;
      write(key, value, ttlMs);
      return true;
    },
    async deleteIfEquals(key, value) {
      if (read(key)?.v !== value) return false;
      store.removeItem(prefix + key);
      return true;
    },
    async renewIfEquals(key, value, ttlMs) {
      if (read(key)?.v !== value) return false;
      write(key, value, ttlMs);
      return true;
    },
    async take(key) {
      const entry = read(key);
      store.removeItem(prefix + key);
      return entry?.v;
    },
  };
}
