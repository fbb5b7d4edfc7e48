import { OAuthError } from '../errors.js';
import type { ClientSecrets } from '../secrets.js';
import { runtimeSendsUserAgent } from '../provider/user-agent.js';
import { memoryStorage } from './memory-storage.js';
import type { Clock, Http, LockPolicy, Random, RetryPolicy, Services, Storage } from './types.js';

export interface ServiceOptions {
  http?: Http;
  storage?: Storage;
  clock?: Clock;
  random?: Random;
  timeoutMs?: number;
  /** The largest response body read, in bytes. Default 1 MiB (1 048 576). */
  maxResponseBytes?: number;
  retry?: Partial<RetryPolicy>;
  lock?: Partial<LockPolicy>;
  /** Whether a User-Agent header can be sent (see Services.userAgentHeader). Default: false in a browser page or worker. */
  userAgentHeader?: boolean;
}

export interface ProvidedServices extends ServiceOptions {
  secrets?: ClientSecrets;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * The platform's CSPRNG (WebCrypto getRandomValues), drawn from a 4 KB pool: one call to the
 * platform per 4 KB instead of one per value (it was 3% of a code flow's CPU on Node). Every byte
 * is handed out once and zeroed in the pool as it goes; large requests bypass the pool.
 */
const POOL_SIZE = 4096;
let pool = new Uint8Array(0);
let offset = 0;
export const cryptoRandom: Random = (bytes) => {
  if (bytes > POOL_SIZE / 4) return crypto.getRandomValues(new Uint8Array(bytes));
  if (offset + bytes > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    offset = 0;
  }
  const out = pool.slice(offset, offset + bytes);
  pool.fill(0, offset, offset + bytes);
  offset += bytes;
  return out;
};

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

/** The default cap of a response body: 1 MiB. */
export const defaultMaxResponseBytes = 1_048_576;

export const defaultLockPolicy: LockPolicy = { ttlMs: 5_000, pollIntervalMs: 50, maxWaitMs: 60_000 };

const globalFetch: Http = (input, init) => {
  if (typeof globalThis.fetch !== 'function') {
    throw new OAuthError('invalid_configuration', 'this runtime has no global fetch; pass services.http', { field: 'services.http' });
  }
  return globalThis.fetch(input, init);
};

function check(ok: boolean, field: string, what: string): void {
  if (!ok) throw new OAuthError('invalid_configuration', `${field} must be ${what}`, { field });
}

/** Refuses services of the wrong shape at once, rather than failing inside a flow. */
function checkServices(options: ServiceOptions): void {
  const { http, storage, clock, random, timeoutMs, maxResponseBytes } = options;
  check(http === undefined || typeof http === 'function', 'services.http', 'a fetch-compatible function');
  check(
    storage === undefined || (typeof storage === 'object' && storage !== null && ['get', 'set', 'delete'].every((m) => typeof (storage as unknown as Record<string, unknown>)[m] === 'function')),
    'services.storage',
    'an object with get, set and delete',
  );
  check(options.userAgentHeader === undefined || typeof options.userAgentHeader === 'boolean', 'services.userAgentHeader', 'a boolean');
  check(clock === undefined || typeof clock?.now === 'function', 'services.clock', 'an object with now()');
  check(random === undefined || typeof random === 'function', 'services.random', 'a function (bytes) => Uint8Array');
  check(timeoutMs === undefined || (Number.isFinite(timeoutMs) && timeoutMs > 0), 'services.timeoutMs', 'a positive number of milliseconds');
  check(
    maxResponseBytes === undefined || (Number.isSafeInteger(maxResponseBytes) && maxResponseBytes > 0),
    'services.maxResponseBytes',
    'a positive integer number of bytes',
  );
}

/** The least lock TTL: a lease is renewed every third of it, and renewals less than 10 ms apart would spin. */
export const MIN_LOCK_TTL_MS = 30;

const isMs = (value: unknown, least: number) => typeof value === 'number' && Number.isFinite(value) && value >= least;

/** Refuses retry and lock settings that would make a grant spin, never retry or never wait, naming the field. */
function checkPolicies(retry: ServiceOptions['retry'] = {}, lock: ServiceOptions['lock'] = {}): void {
  check(typeof retry === 'object' && retry !== null, 'services.retry', 'an object');
  check(typeof lock === 'object' && lock !== null, 'services.lock', 'an object');
  const { maxAttempts, baseDelayMs, maxDelayMs } = retry;
  check(maxAttempts === undefined || (Number.isSafeInteger(maxAttempts) && maxAttempts >= 0), 'services.retry.maxAttempts', 'a whole number of attempts (0 or more)');
  check(baseDelayMs === undefined || isMs(baseDelayMs, 0), 'services.retry.baseDelayMs', 'a number of milliseconds, 0 or more');
  check(maxDelayMs === undefined || isMs(maxDelayMs, 0), 'services.retry.maxDelayMs', 'a number of milliseconds, 0 or more');
  const { ttlMs, pollIntervalMs, maxWaitMs } = lock;
  check(ttlMs === undefined || isMs(ttlMs, MIN_LOCK_TTL_MS), 'services.lock.ttlMs', `a number of milliseconds, at least ${MIN_LOCK_TTL_MS}`);
  check(pollIntervalMs === undefined || isMs(pollIntervalMs, 1), 'services.lock.pollIntervalMs', 'a number of milliseconds, at least 1');
  check(maxWaitMs === undefined || isMs(maxWaitMs, 0), 'services.lock.maxWaitMs', 'a number of milliseconds, 0 or more');
}

/** Fills in platform defaults. A fresh memoryStorage each call: pass one storage to share flows. */
export function resolveServices(options: ServiceOptions = {}): Services {
  checkServices(options);
  checkPolicies(options.retry, options.lock);
  const clock = options.clock ?? systemClock;
  return {
    http: options.http ?? globalFetch,
    storage: options.storage ?? memoryStorage({ clock }),
    clock,
    random: options.random ?? cryptoRandom,
    timeoutMs: options.timeoutMs ?? 30_000,
    maxResponseBytes: options.maxResponseBytes ?? defaultMaxResponseBytes,
    retry: { ...defaultRetryPolicy, ...options.retry },
    lock: { ...defaultLockPolicy, ...options.lock },
    userAgentHeader: options.userAgentHeader ?? runtimeSendsUserAgent(),
  };
}
