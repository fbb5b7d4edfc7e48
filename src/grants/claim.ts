import { OAuthError, toOAuthError } from '../errors.js';
import type { Services, Storage } from '../services/types.js';

/** Keys being claimed in this process, per storage: the guard for storages without take(). */
const claiming = new WeakMap<Storage, Set<string>>();

const notFound = () =>
  new OAuthError('flow_not_found', "no pending flow for this callback's state: it was completed already (a code is redeemed once), expired long ago, or started elsewhere", {
    field: 'callback.state',
  });

/**
 * Claims a pending flow: reads and deletes it in one step, so of concurrent completions (a double
 * click, a prefetch, two instances) exactly one gets the record and sends the code; the others
 * get `flow_not_found` and send nothing. Atomic across processes with a storage's `take` (Redis
 * GETDEL, the file lock), or its `setIfAbsent` on a claim key; within this process always.
 */
export async function claimPendingFlow(services: Services, key: string, ttlMs: number): Promise<string> {
  const { storage } = services;
  let held = claiming.get(storage);
  if (!held) claiming.set(storage, (held = new Set()));
  if (held.has(key)) throw notFound();
  held.add(key);
  try {
    let raw: string | undefined;
    if (storage.take) {
      raw = await storage.take(key);
    } else {
      if (storage.setIfAbsent && !(await storage.setIfAbsent(`${key}:claimed`, '1', ttlMs))) throw notFound();
      raw = await storage.get(key);
      if (raw !== undefined) await storage.delete(key);
    }
    if (raw === undefined) throw notFound();
    return raw;
  } catch (error) {
    if (error instanceof OAuthError && error.code === 'flow_not_found') throw error;
    throw new OAuthError('storage_error', `could not claim the pending flow: ${toOAuthError(error).message}`, { field: 'storage.pendingFlow', cause: error });
  } finally {
    held.delete(key);
  }
}
