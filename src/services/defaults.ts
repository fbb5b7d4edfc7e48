import { OAuthError } from '../errors.js';
import type { ClientSecrets } from '../secrets.js';
import { memoryStorage } from './memory-storage.js';
import type { Clock, Http, LockPolicy, Random, RetryPolicy, Services, Storage } from './types.js';

export interface ServiceOptions {
  http?: Http;
  storage?: Storage;
  clock?: Clock;
  random?: Random;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  lock?: Partial<LockPolicy>;
}

export interface ProvidedServices extends ServiceOptions {
  secrets?: ClientSecrets;
}

export const systemClock: Clock = { now: () => Date.now() };

export const cryptoRandom: Random = (bytes) => crypto.getRandomValues(new Uint8Array(bytes));

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

export const defaultLockPolicy: LockPolicy = { ttlMs: 30_000, pollIntervalMs: 50 };

const globalFetch: Http = (input, init) => {
  if (typeof globalThis.fetch !== 'function') {
    throw new OAuthError('invalid_configuration', 'this runtime has no global fetch; pass services.http', { field: 'services.http' });
  }
  return globalThis.fetch(input, init);
};

/** Fills in platform defaults. A fresh memoryStorage each call: pass one storage to share flows. */
export function resolveServices(options: ServiceOptions = {}): Services {
  const clock = options.clock ?? systemClock;
  return {
    http: options.http ?? globalFetch,
    storage: options.storage ?? memoryStorage({ clock }),
    clock,
    random: options.random ?? cryptoRandom,
    timeoutMs: options.timeoutMs ?? 30_000,
    retry: { ...defaultRetryPolicy, ...options.retry },
    lock: { ...defaultLockPolicy, ...options.lock },
  };
}
