import { OAuthError, toOAuthError } from '../errors.js';
import type { Services } from '../services/types.js';
import { refreshLockKey } from './storage-keys.js';
import type { TokenLocation } from './token-store.js';

/**
 * The lock that makes one request for a stored TokenSet at a time, across processes: taken with
 * the storage's setIfAbsent (with a TTL, so a crashed holder frees it), released by its holder
 * only. A storage without setIfAbsent serves one process, and the lock is always granted.
 */
export async function acquireLock(services: Services, at: TokenLocation): Promise<{ acquired: boolean; lockToken?: string }> {
  const { storage, random, lock } = services;
  if (!storage.setIfAbsent) return { acquired: true };
  const lockToken = Array.from(random(16), (b) => b.toString(16).padStart(2, '0')).join('');
  try {
    const acquired = await storage.setIfAbsent(refreshLockKey(at.providerId, at.clientId, at.key), lockToken, lock.ttlMs);
    return acquired ? { acquired, lockToken } : { acquired };
  } catch (error) {
    throw new OAuthError('storage_error', `could not take the lock: ${toOAuthError(error).message}`, { cause: error });
  }
}

/** Releases the lock only while it is still this holder's (an expired lock may be another's by now). */
export async function releaseLock(services: Services, at: TokenLocation, lockToken: string | undefined): Promise<void> {
  if (lockToken === undefined) return;
  const key = refreshLockKey(at.providerId, at.clientId, at.key);
  const { storage } = services;
  if (storage.deleteIfEquals) await storage.deleteIfEquals(key, lockToken);
  else if ((await storage.get(key)) === lockToken) await storage.delete(key);
}
