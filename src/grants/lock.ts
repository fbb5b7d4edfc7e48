import { OAuthError, toOAuthError } from '../errors.js';
import type { Services } from '../services/types.js';
import { refreshLockKey } from './storage-keys.js';
import type { TokenLocation } from './token-store.js';

/**
 * The lock that makes one request for a stored TokenSet at a time, across processes: taken with
 * the storage's setIfAbsent (with a TTL, so a crashed holder frees it), released by its holder
 * only. A storage without setIfAbsent serves one process, and the lock is always granted.
 */
export interface LockAttempt {
  acquired: boolean;
  lockToken?: string;
  /** When this caller began to wait, on a monotonic clock (so a bounded wait stays bounded). */
  waitingSince?: number;
}

/** A monotonic clock in milliseconds: real time, whatever the injected clock says. */
export const monotonicNow = (): number => globalThis.performance?.now() ?? Date.now();

/**
 * Tries to take the lock once. A caller that does not get it waits and tries again; past
 * `lock.maxWaitMs` of real time since `waitingSince` it gives up with `lock_timeout`.
 */
export async function acquireLock(services: Services, at: TokenLocation, waitingSince?: number): Promise<LockAttempt> {
  const { storage, random, lock } = services;
  if (!storage.setIfAbsent) return { acquired: true };
  const lockToken = Array.from(random(16), (b) => b.toString(16).padStart(2, '0')).join('');
  let acquired: boolean;
  try {
    acquired = await storage.setIfAbsent(refreshLockKey(at.providerId, at.clientId, at.key), lockToken, lockTtl(services));
  } catch (error) {
    throw new OAuthError('storage_error', `could not take the lock: ${toOAuthError(error).message}`, { cause: error });
  }
  if (acquired) return { acquired, lockToken };
  const since = waitingSince ?? monotonicNow();
  const waited = monotonicNow() - since;
  if (waited >= lock.maxWaitMs) {
    throw new OAuthError('lock_timeout', `waited ${Math.round(waited)} ms for another caller's lock on these tokens (lock.maxWaitMs): its holder is slow or gone`, {
      field: 'lock',
      retryable: true,
    });
  }
  return { acquired: false, waitingSince: since };
}

/**
 * The TTL a lock is taken with: the lease's, where the storage can renew it; otherwise long enough
 * that the holder's request, with its retries, cannot outlive it.
 */
export function lockTtl(services: Services): number {
  const { storage, lock, timeoutMs, retry } = services;
  if (storage.renewIfEquals) return lock.ttlMs;
  return Math.max(lock.ttlMs, timeoutMs * retry.maxAttempts + retry.maxDelayMs * Math.max(0, retry.maxAttempts - 1) + 5_000);
}

/** Lock tokens whose release is already someone's job: the machine's own `releasing`, or a request that outlives a stop. */
const releaseTaken = new Set<string>();

function renewEvery(services: Services, key: string, lockToken: string): () => void {
  const { storage, lock } = services;
  if (!storage.renewIfEquals) return () => {};
  const timer = setInterval(() => {
    storage.renewIfEquals!(key, lockToken, lock.ttlMs).catch(() => {});
  }, Math.floor(lock.ttlMs / 3)); // at least 10 ms: resolveServices refuses a TTL under MIN_LOCK_TTL_MS
  return () => clearInterval(timer);
}

/**
 * Keeps the lock while its holder works: renews it every third of its TTL, only while it is still
 * this holder's. Returns the function that stops renewing (the machine calls it when it leaves
 * the states that hold the lock, or stops). A renewal that fails is left to the next one. When
 * nobody takes over the release (the actor was stopped), the lock is released at once, so the
 * next caller does not wait for the TTL.
 */
export function holdLease(services: Services, at: TokenLocation, lockToken: string | undefined): () => void {
  if (lockToken === undefined) return () => {};
  const stopRenewing = renewEvery(services, refreshLockKey(at.providerId, at.clientId, at.key), lockToken);
  return () => {
    stopRenewing();
    // The machine's `releasing` state, entered in the same step, or a request kept after a stop,
    // takes the release over synchronously; a microtask later it is known whether anyone did.
    queueMicrotask(() => {
      if (releaseTaken.delete(lockToken)) return;
      releaseLock(services, at, lockToken).catch(() => {});
    });
  };
}

/**
 * Holds the lock of a stopped holder until its in-flight request settles, then releases it: a
 * rotating refresh token, once sent, may be used up, so nobody may refresh before its answer is stored.
 */
export function keepLeaseUntil(services: Services, at: TokenLocation, lockToken: string | undefined, work: Promise<unknown>): void {
  if (lockToken === undefined) return;
  releaseTaken.add(lockToken);
  const stopRenewing = renewEvery(services, refreshLockKey(at.providerId, at.clientId, at.key), lockToken);
  void work
    .catch(() => {})
    .finally(() => {
      stopRenewing();
      releaseLock(services, at, lockToken).catch(() => {});
    });
}

/** The machine's own release, at the end of the states that hold the lock. */
export function releaseHeldLock(services: Services, at: TokenLocation, lockToken: string | undefined): Promise<void> {
  if (lockToken !== undefined) {
    releaseTaken.add(lockToken);
    // Forgotten after the lease's own check (queued before this one), or at once if there was no lease.
    queueMicrotask(() => queueMicrotask(() => releaseTaken.delete(lockToken)));
  }
  return releaseLock(services, at, lockToken);
}

/** Releases the lock only while it is still this holder's (an expired lock may be another's by now). */
export async function releaseLock(services: Services, at: TokenLocation, lockToken: string | undefined): Promise<void> {
  if (lockToken === undefined) return;
  const key = refreshLockKey(at.providerId, at.clientId, at.key);
  const { storage } = services;
  if (storage.deleteIfEquals) await storage.deleteIfEquals(key, lockToken);
  else if ((await storage.get(key)) === lockToken) await storage.delete(key);
}
