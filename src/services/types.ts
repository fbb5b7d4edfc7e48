/** The services every side effect goes through. Each is optional when providing a machine: platform defaults fill in. */

import type { CryptoKeyPairLike } from '../crypto/web-types.js';

/** Any fetch-compatible function. */
export type Http = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface StorageSetOptions {
  /** Time to live in milliseconds: the value disappears after it. */
  ttlMs?: number;
}

export interface Storage {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, options?: StorageSetOptions): Promise<void>;
  delete(key: string): Promise<void>;
  /** Sets only when absent; resolves true when this call set it. Used as a cross-process lock. */
  setIfAbsent?(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes only while the value is still `value` (a lock released by its holder only); resolves true when deleted. */
  deleteIfEquals?(key: string, value: string): Promise<boolean>;
  /**
   * Reads and deletes in one atomic step: of concurrent callers, one gets the value and the others
   * `undefined` (Redis GETDEL). A pending flow is claimed with it, so a code is redeemed once.
   */
  take?(key: string): Promise<string | undefined>;
  /**
   * Extends the TTL of `key` to `ttlMs` from now, only while its value is still `value`; resolves
   * true when it did. Makes the refresh lock a lease: its holder renews it while it works.
   */
  renewIfEquals?(key: string, value: string, ttlMs: number): Promise<boolean>;
  /**
   * The CryptoKeyPair stored under `key` by setKeyPairIfAbsent, or undefined. Only a storage that
   * keeps CryptoKey objects as they are (memory, IndexedDB) has it: a non-extractable private key
   * is then kept without ever being exported. Key pairs live beside the string values (`get(key)`
   * does not see them), never expire, and `delete(key)` removes them too.
   */
  getKeyPair?(key: string): Promise<CryptoKeyPairLike | undefined>;
  /**
   * Stores `pair` under `key` unless one is there already, in one atomic step; resolves with the
   * pair stored (this one, or the one found), so concurrent callers end up with the same pair.
   */
  setKeyPairIfAbsent?(key: string, pair: CryptoKeyPairLike): Promise<CryptoKeyPairLike>;
}

export interface Clock {
  now(): number;
}

/** Returns `bytes` cryptographically random bytes. */
export type Random = (bytes: number) => Uint8Array;

export interface RetryPolicy {
  /** Attempts in all, the first one included. Default 4. */
  maxAttempts: number;
  /** First backoff in ms; doubled each time, with full jitter. Default 250. */
  baseDelayMs: number;
  /** Cap of one backoff, Retry-After included. Default 30 000. */
  maxDelayMs: number;
}

export interface LockPolicy {
  /**
   * How long a lock outlives its holder. The holder renews it every third of this while it works
   * (where the storage has renewIfEquals), so a slow refresh is never overlapped and a holder that
   * dies frees it within this time. Default 5 000; at least 30 (renewals 10 ms apart). A storage
   * without renewIfEquals holds the lock for at least the request timeout and its retries instead.
   */
  ttlMs: number;
  /** How often a waiter looks again. Default 50; at least 1. */
  pollIntervalMs: number;
  /**
   * The longest a caller waits for another's lock, in real time (a monotonic clock, not the
   * injected one: a clock stepped back cannot make a waiter wait forever); then `lock_timeout`.
   * Default 60 000.
   */
  maxWaitMs: number;
}

export interface Services {
  http: Http;
  storage: Storage;
  clock: Clock;
  random: Random;
  /** Per-request timeout in ms. Default 30 000. */
  timeoutMs: number;
  /** The largest response body read, in bytes; a larger one is refused (`invalid_response`). Default 1 MiB. */
  maxResponseBytes: number;
  retry: RetryPolicy;
  lock: LockPolicy;
  /**
   * Whether this runtime can send a User-Agent request header. Browsers (pages and workers) forbid
   * setting it, so there none is built and a provider's required User-Agent is not asked for.
   * Default: false in a page or a browser's worker, true elsewhere (Node, Bun, Deno, Cloudflare's
   * workerd); see runtimeSendsUserAgent.
   */
  userAgentHeader: boolean;
}
