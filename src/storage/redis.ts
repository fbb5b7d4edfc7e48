import type { Storage } from '../services/types.js';

/**
 * The part of a node-redis (`redis` ≥ 5) client that grantflow uses. Typed structurally, so this
 * module loads without the optional `redis` peer dependency installed.
 */
export interface RedisClientLike {
  get(key: string): Promise<string | null | unknown>;
  set(key: string, value: string, options?: { expiration?: { type: 'PX'; value: number }; condition?: 'NX' }): Promise<string | null | unknown>;
  del(key: string): Promise<number | unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  /** GETDEL (Redis ≥ 6.2). */
  getDel(key: string): Promise<string | null | unknown>;
}

export interface RedisStorageOptions {
  /** Put before every key, to share one Redis between apps. Default none (grantflow's keys start with `grantflow:`). */
  prefix?: string;
}

// Deletes the lock only while it still holds the caller's token: an expired lock re-taken by
// another holder is not released by the old one.
// Extends the lock's expiry only while it still holds the caller's token (a lease renewal).
const RENEW_IF_EQUALS = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

const DELETE_IF_EQUALS = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Storage on Redis, for several app instances sharing pending flows and tokens. TTLs become
 * PX expiries; the refresh lock is `SET NX PX` and is released by its holder only.
 */
export function redisStorage(client: RedisClientLike, options: RedisStorageOptions = {}): Storage {
  const prefix = options.prefix ?? '';
  return {
    async get(key) {
      const value = await client.get(prefix + key);
      return typeof value === 'string' ? value : undefined;
    },
    async set(key, value, setOptions) {
      const ttl = setOptions?.ttlMs;
      await client.set(prefix + key, value, ttl === undefined ? undefined : { expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttl)) } });
    },
    async delete(key) {
      await client.del(prefix + key);
    },
    async setIfAbsent(key, value, ttlMs) {
      const reply = await client.set(prefix + key, value, { expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) }, condition: 'NX' });
      return reply === 'OK';
    },
    async deleteIfEquals(key, value) {
      return Number(await client.eval(DELETE_IF_EQUALS, { keys: [prefix + key], arguments: [value] })) === 1;
    },
    async renewIfEquals(key, value, ttlMs) {
      return Number(await client.eval(RENEW_IF_EQUALS, { keys: [prefix + key], arguments: [value, String(Math.max(1, Math.ceil(ttlMs)))] })) === 1;
    },
    async take(key) {
      const value = await client.getDel(prefix + key);
      return typeof value === 'string' ? value : undefined;
    },
  };
}
