import { describe, expect, it } from 'vitest';
import { claimPendingFlow } from '../../src/grants/claim.js';
import { OAuthError } from '../../src/errors.js';
import { resolveServices } from '../../src/services/defaults.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import type { Clock, Storage } from '../../src/services/types.js';

/**
 * The single-use claim of a pending flow (src/grants/claim.ts) on its own, over the three kinds
 * of storage: one with take (atomic read-and-delete), one with setIfAbsent only (a claim key),
 * and one with neither (this process only). Concurrency is made with explicit promises.
 */

const key = 'grantflow:as:app:flow:state-1';
const ttlMs = 60_000;

/** get/set/delete only: the claim is guarded in this process alone. */
const plain = (inner: Storage): Storage => ({ get: (k) => inner.get(k), set: (k, v, o) => inner.set(k, v, o), delete: (k) => inner.delete(k) });
/** get/set/delete and setIfAbsent: the claim key makes it atomic across processes. */
const claimKeyOnly = (inner: Storage): Storage => ({ ...plain(inner), setIfAbsent: (k, v, t) => inner.setIfAbsent!(k, v, t) });

const manualClock = () => {
  let now = 1_000_000;
  const clock: Clock = { now: () => now };
  return { clock, advance: (ms: number) => (now += ms) };
};

const claim = (storage: Storage, k = key) => claimPendingFlow(resolveServices({ storage }), k, ttlMs);
const rejection = async (promise: Promise<unknown>): Promise<OAuthError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OAuthError);
  return error as OAuthError;
};

const expectNotFound = (error: OAuthError) => {
  expect(error.code).toBe('flow_not_found');
  expect(error.field).toBe('callback.state');
  expect(error.message).toMatch(/no pending flow for this callback's state/);
};

/** A promise and the function that resolves it. */
function gate<T>() {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

describe.each([
  ['memoryStorage (take)', (inner: Storage) => inner],
  ['a storage with setIfAbsent only (claim key)', claimKeyOnly],
  ['a storage with neither (this process only)', plain],
])('claimPendingFlow over %s', (_, wrap) => {
  it('returns the record and removes it: a second claim is flow_not_found', async () => {
    const inner = memoryStorage();
    const storage = wrap(inner);
    await inner.set(key, 'the-record');
    expect(await claim(storage)).toBe('the-record');
    expect(await inner.get(key)).toBeUndefined();
    expectNotFound(await rejection(claim(storage)));
  });

  it('a key with no record is flow_not_found', async () => {
    expectNotFound(await rejection(claim(wrap(memoryStorage()))));
  });

  it('of concurrent claims exactly one gets the record', async () => {
    const inner = memoryStorage();
    await inner.set(key, 'the-record');
    const storage = wrap(inner);
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => claim(storage)));
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<string>).value)).toEqual(['the-record']);
    for (const r of results) if (r.status === 'rejected') expectNotFound(r.reason as OAuthError);
  });

  it('other pending flows in the same storage are claimed independently', async () => {
    const inner = memoryStorage();
    const storage = wrap(inner);
    await inner.set(`${key}-a`, 'a');
    await inner.set(`${key}-b`, 'b');
    expect(await Promise.all([claim(storage, `${key}-a`), claim(storage, `${key}-b`)])).toEqual(['a', 'b']);
  });
});

describe('a storage with neither take nor setIfAbsent: the in-process guard', () => {
  /** A plain storage whose reads wait for `release`. */
  function slowReads(inner: Storage) {
    const reads: Array<() => void> = [];
    const storage: Storage = {
      ...plain(inner),
      get: async (k) => {
        await new Promise<void>((resolve) => reads.push(resolve));
        return inner.get(k);
      },
    };
    return { storage, reads };
  }

  it('a claim in progress makes another for the same key flow_not_found at once, without reading', async () => {
    const inner = memoryStorage();
    await inner.set(key, 'the-record');
    const { storage, reads } = slowReads(inner);
    const first = claim(storage);
    const second = claim(storage).catch((e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toHaveLength(1);
    for (const read of reads) read();
    expect(await first).toBe('the-record');
    const error = await second;
    expect(error).toBeInstanceOf(OAuthError);
    expectNotFound(error as OAuthError);
  });

  it('the guard is per storage: the same key in another storage is not held', async () => {
    const a = memoryStorage();
    const b = memoryStorage();
    await a.set(key, 'in-a');
    await b.set(key, 'in-b');
    const slowA = slowReads(a);
    const first = claim(slowA.storage);
    expect(await claim(plain(b))).toBe('in-b');
    slowA.reads[0]!();
    expect(await first).toBe('in-a');
  });

  it('once a claim is over, the key is free again: a flow stored again under it can be claimed', async () => {
    const inner = memoryStorage();
    const storage = plain(inner);
    await inner.set(key, 'first');
    expect(await claim(storage)).toBe('first');
    await inner.set(key, 'second');
    expect(await claim(storage)).toBe('second');
    // Also after a claim that found nothing, and after one that failed.
    await rejection(claim(storage));
    await inner.set(key, 'third');
    expect(await claim(storage)).toBe('third');
    let fail = true;
    const flaky: Storage = { ...storage, get: (k) => (fail ? Promise.reject(new Error('disk on fire')) : inner.get(k)) };
    await inner.set(key, 'fourth');
    expect((await rejection(claim(flaky))).code).toBe('storage_error');
    fail = false;
    expect(await claim(flaky)).toBe('fourth');
  });
});

describe('a storage with setIfAbsent only: the claim key', () => {
  it('is set beside the record for the given TTL; the record is deleted', async () => {
    const { clock, advance } = manualClock();
    const inner = memoryStorage({ clock });
    const seen: Array<[string, number]> = [];
    const storage: Storage = { ...plain(inner), setIfAbsent: (k, v, t) => (seen.push([k, t]), inner.setIfAbsent!(k, v, t)) };
    await inner.set(key, 'the-record');
    expect(await claimPendingFlow(resolveServices({ storage, clock }), key, ttlMs)).toBe('the-record');
    expect(seen).toEqual([[`${key}:claimed`, ttlMs]]);
    expect(await inner.get(`${key}:claimed`)).toBeDefined();
    expect(await inner.get(key)).toBeUndefined();
    advance(ttlMs - 1);
    expect(await inner.get(`${key}:claimed`)).toBeDefined();
    advance(1);
    expect(await inner.get(`${key}:claimed`)).toBeUndefined();
  });

  it('a flow claimed by another process (its claim key is there) is flow_not_found, and its record is left to that process', async () => {
    const inner = memoryStorage();
    await inner.set(key, 'the-record');
    await inner.setIfAbsent!(`${key}:claimed`, '1', ttlMs);
    let reads = 0;
    const storage: Storage = { ...claimKeyOnly(inner), get: (k) => (reads++, inner.get(k)) };
    expectNotFound(await rejection(claim(storage)));
    expect(reads).toBe(0);
    expect(await inner.get(key)).toBe('the-record');
  });
});

describe('a storage that fails while claiming is storage_error', () => {
  const expectStorageError = (error: OAuthError, cause: unknown, message: string) => {
    expect(error.code).toBe('storage_error');
    expect(error.field).toBe('storage.pendingFlow');
    expect(error.message).toBe(`could not claim the pending flow: ${message}`);
    expect(error.cause).toBe(cause);
  };

  it('take fails', async () => {
    const cause = new Error('disk on fire');
    const storage: Storage = { ...memoryStorage(), take: () => Promise.reject(cause) };
    expectStorageError(await rejection(claim(storage)), cause, 'disk on fire');
  });

  it('take fails with an OAuthError of its own (not flow_not_found): still storage_error', async () => {
    const cause = new OAuthError('network_error', 'redis is unreachable');
    const storage: Storage = { ...memoryStorage(), take: () => Promise.reject(cause) };
    expectStorageError(await rejection(claim(storage)), cause, 'redis is unreachable');
  });

  it('setIfAbsent, get or delete fails', async () => {
    for (const failing of ['setIfAbsent', 'get', 'delete'] as const) {
      const inner = memoryStorage();
      await inner.set(key, 'the-record');
      const cause = new Error(`${failing} failed`);
      const storage: Storage = { ...claimKeyOnly(inner), [failing]: () => Promise.reject(cause) };
      expectStorageError(await rejection(claim(storage)), cause, `${failing} failed`);
    }
  });

  it('a delete that has not finished is waited for', async () => {
    const inner = memoryStorage();
    await inner.set(key, 'the-record');
    const deleted = gate<void>();
    const storage: Storage = { ...plain(inner), delete: () => deleted.promise };
    let done = false;
    const claimed = claim(storage).then((raw) => ((done = true), raw));
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    deleted.open();
    expect(await claimed).toBe('the-record');
  });
});
