import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { acquireLock, holdLease, keepLeaseUntil, lockTtl, monotonicNow, releaseHeldLock, releaseLock } from '../../src/grants/lock.js';
import { refreshLockKey } from '../../src/grants/storage-keys.js';
import { OAuthError } from '../../src/errors.js';
import { resolveServices } from '../../src/services/defaults.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import type { Services, Storage } from '../../src/services/types.js';

/**
 * The refresh lock (src/grants/lock.ts) on its own: taking it, its TTL, the lease that renews it,
 * the take-over of its release (by the machine's `releasing` state, or by a request that outlives
 * a stop), and the release by its holder only. Timers are vitest's fake ones and the storage's
 * clock is the faked Date, so a lease's renewals are counted exactly; nothing sleeps.
 */

const at = { providerId: 'as', clientId: 'app', key: 'user-1' };
const lockKey = refreshLockKey('as', 'app', 'user-1');

/** Runs every queued microtask (and the promise chains they start) before going on. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Calls {
  setIfAbsent: Array<[string, string, number]>;
  renewIfEquals: Array<[string, string, number]>;
  deleteIfEquals: Array<[string, string]>;
  get: string[];
  delete: string[];
}

/** A memoryStorage that records the lock calls made on it; `without` leaves optional methods out. */
function recording(options: { without?: Array<'setIfAbsent' | 'renewIfEquals' | 'deleteIfEquals'>; inner?: Storage } = {}) {
  const inner = options.inner ?? memoryStorage();
  const calls: Calls = { setIfAbsent: [], renewIfEquals: [], deleteIfEquals: [], get: [], delete: [] };
  const storage: Storage = {
    get: (k) => (calls.get.push(k), inner.get(k)),
    set: (k, v, o) => inner.set(k, v, o),
    delete: (k) => (calls.delete.push(k), inner.delete(k)),
    setIfAbsent: (k, v, t) => (calls.setIfAbsent.push([k, v, t]), inner.setIfAbsent!(k, v, t)),
    renewIfEquals: (k, v, t) => (calls.renewIfEquals.push([k, v, t]), inner.renewIfEquals!(k, v, t)),
    deleteIfEquals: (k, v) => (calls.deleteIfEquals.push([k, v]), inner.deleteIfEquals!(k, v)),
  };
  for (const method of options.without ?? []) delete storage[method];
  return { inner, storage, calls };
}

type Overrides = { random?: Services['random']; timeoutMs?: number; retry?: Partial<Services['retry']>; lock?: Partial<Services['lock']> };
const servicesWith = (storage: Storage, overrides: Overrides = {}): Services => resolveServices({ storage, clock: { now: () => Date.now() }, ...overrides });

/** Random bytes that need padding, and that collide if the hex of each byte is not padded to two digits. */
const bytes = [0x00, 0x0a, 0xff, 0x10, 0x01, 0x11, 0x7f, 0x80, 0x02, 0x22, 0x0f, 0xf0, 0x03, 0x33, 0x04, 0x44];
const fixedRandom = (values = bytes) => (n: number) => {
  expect(n).toBe(16);
  return Uint8Array.from(values);
};

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('monotonicNow', () => {
  it('is performance.now(), not the wall clock', () => {
    vi.spyOn(performance, 'now').mockReturnValue(1234.5);
    vi.spyOn(Date, 'now').mockReturnValue(99);
    expect(monotonicNow()).toBe(1234.5);
  });

  it('falls back to Date.now() where there is no performance', () => {
    vi.stubGlobal('performance', undefined);
    vi.spyOn(Date, 'now').mockReturnValue(4242);
    expect(monotonicNow()).toBe(4242);
  });
});

describe('lockTtl', () => {
  const retry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10 };

  it('is the lease TTL where the storage can renew the lock, however long a request may take', () => {
    const { storage } = recording();
    expect(lockTtl(servicesWith(storage, { timeoutMs: 100_000, retry, lock: { ttlMs: 700 } }))).toBe(700);
  });

  it('without renewIfEquals: outlives the request with all its retries and backoffs, plus 5 s', () => {
    const { storage } = recording({ without: ['renewIfEquals'] });
    // 3 attempts of 100 ms, 2 backoffs of at most 10 ms, 5 000 ms margin.
    expect(lockTtl(servicesWith(storage, { timeoutMs: 100, retry, lock: { ttlMs: 1_000 } }))).toBe(5_320);
    expect(lockTtl(servicesWith(storage, { timeoutMs: 100, retry: { ...retry, maxAttempts: 1 }, lock: { ttlMs: 1_000 } }))).toBe(5_100);
    expect(lockTtl(servicesWith(storage, { timeoutMs: 100, retry: { ...retry, maxAttempts: 0 }, lock: { ttlMs: 1_000 } }))).toBe(5_000);
  });

  it('without renewIfEquals: never shorter than lock.ttlMs', () => {
    const { storage } = recording({ without: ['renewIfEquals'] });
    expect(lockTtl(servicesWith(storage, { timeoutMs: 100, retry, lock: { ttlMs: 9_000 } }))).toBe(9_000);
  });
});

describe('acquireLock', () => {
  it('a storage without setIfAbsent serves one process: the lock is always granted, with no token', async () => {
    const { storage, calls } = recording({ without: ['setIfAbsent'] });
    expect(await acquireLock(servicesWith(storage), at)).toEqual({ acquired: true });
    expect(calls.get).toEqual([]);
  });

  it('takes the lock with setIfAbsent under the refresh lock key, a token of the random bytes in hex, and lockTtl', async () => {
    const { storage, calls, inner } = recording({ without: ['renewIfEquals'] });
    const services = servicesWith(storage, { random: fixedRandom(), timeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 10 }, lock: { ttlMs: 50 } });
    const token = '000aff1001117f8002220ff003330444';
    expect(await acquireLock(services, at)).toEqual({ acquired: true, lockToken: token });
    expect(calls.setIfAbsent).toEqual([[lockKey, token, 5_210]]);
    expect(await inner.get(lockKey)).toBe(token);
  });

  it('tokens of different random bytes differ (each byte is two hex digits)', async () => {
    // 0x01,0x11 and 0x11,0x01 give "111" both without padding.
    const a = await acquireLock(servicesWith(memoryStorage(), { random: fixedRandom([0x01, 0x11, ...bytes.slice(2)]) }), at);
    const b = await acquireLock(servicesWith(memoryStorage(), { random: fixedRandom([0x11, 0x01, ...bytes.slice(2)]) }), at);
    expect(a.lockToken).toMatch(/^[0-9a-f]{32}$/);
    expect(b.lockToken).toMatch(/^[0-9a-f]{32}$/);
    expect(a.lockToken).not.toBe(b.lockToken);
  });

  it('the key defaults to "default" when the location has none', async () => {
    const { storage, calls } = recording();
    await acquireLock(servicesWith(storage), { providerId: 'as', clientId: 'app' });
    expect(calls.setIfAbsent[0]![0]).toBe(refreshLockKey('as', 'app', 'default'));
  });

  it('a lock held by another caller is not acquired; the first refusal starts the wait (monotonic clock)', async () => {
    const { storage, inner } = recording();
    await inner.setIfAbsent!(lockKey, 'another-holder', 60_000);
    vi.spyOn(performance, 'now').mockReturnValue(5_000);
    vi.spyOn(Date, 'now').mockReturnValue(1); // the injected/wall clock is not the one waited on
    const attempt = await acquireLock(servicesWith(storage, { lock: { maxWaitMs: 1_000 } }), at);
    expect(attempt).toEqual({ acquired: false, waitingSince: 5_000 });
    expect(await inner.get(lockKey)).toBe('another-holder');
  });

  it('a later refusal keeps the start of the wait; just under lock.maxWaitMs it still waits', async () => {
    const { storage, inner } = recording();
    await inner.setIfAbsent!(lockKey, 'another-holder', 60_000);
    vi.spyOn(performance, 'now').mockReturnValue(1_999.9);
    expect(await acquireLock(servicesWith(storage, { lock: { maxWaitMs: 1_000 } }), at, 1_000)).toEqual({ acquired: false, waitingSince: 1_000 });
  });

  it('at lock.maxWaitMs of waiting it gives up with lock_timeout (retryable, field lock)', async () => {
    const { storage, inner } = recording();
    await inner.setIfAbsent!(lockKey, 'another-holder', 60_000);
    const services = servicesWith(storage, { lock: { maxWaitMs: 1_000 } });
    vi.spyOn(performance, 'now').mockReturnValue(2_000);
    const exactly = await acquireLock(services, at, 1_000).catch((e: unknown) => e);
    expect(exactly).toBeInstanceOf(OAuthError);
    expect(exactly).toMatchObject({ code: 'lock_timeout', field: 'lock', retryable: true });
    vi.spyOn(performance, 'now').mockReturnValue(2_000.4);
    const past = (await acquireLock(services, at, 1_000).catch((e: unknown) => e)) as OAuthError;
    expect(past.code).toBe('lock_timeout');
    expect(past.message).toMatch(/^waited 1000 ms .*lock\.maxWaitMs/);
    expect(await inner.get(lockKey)).toBe('another-holder');
  });

  it('a lock found taken when lock.maxWaitMs is 0 is lock_timeout at once', async () => {
    const { storage, inner } = recording();
    await inner.setIfAbsent!(lockKey, 'another-holder', 60_000);
    await expect(acquireLock(servicesWith(storage, { lock: { maxWaitMs: 0 } }), at)).rejects.toMatchObject({ code: 'lock_timeout' });
  });

  it('a storage that fails to take the lock is storage_error, with the cause', async () => {
    const cause = new Error('disk on fire');
    const storage: Storage = { ...memoryStorage(), setIfAbsent: () => Promise.reject(cause) };
    const error = (await acquireLock(servicesWith(storage), at).catch((e: unknown) => e)) as OAuthError;
    expect(error).toBeInstanceOf(OAuthError);
    expect(error.code).toBe('storage_error');
    expect(error.message).toBe('could not take the lock: disk on fire');
    expect(error.cause).toBe(cause);
  });
});

describe('holdLease: the lock is renewed while its holder works', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'], now: 0 });
  });

  it('renews every third of the TTL, only its own lock, so it outlives its TTL while held', async () => {
    const { storage, inner, calls } = recording();
    const services = servicesWith(storage, { lock: { ttlMs: 300 } });
    await inner.setIfAbsent!(lockKey, 'mine', 300);
    const stop = holdLease(services, at, 'mine');
    vi.advanceTimersByTime(99);
    expect(calls.renewIfEquals).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls.renewIfEquals).toEqual([[lockKey, 'mine', 300]]);
    vi.advanceTimersByTime(900); // t = 1 000: three TTLs
    expect(calls.renewIfEquals).toHaveLength(10);
    expect(await inner.get(lockKey)).toBe('mine');
    stop();
    await settle();
  });

  it('renews every 10 ms at the shortest TTL allowed (30 ms); a shorter TTL is refused', () => {
    const { storage, calls } = recording();
    const stop = holdLease(servicesWith(storage, { lock: { ttlMs: 30 } }), at, 'mine');
    vi.advanceTimersByTime(50);
    expect(calls.renewIfEquals).toHaveLength(5);
    stop();
    expect(() => servicesWith(storage, { lock: { ttlMs: 29 } })).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'services.lock.ttlMs' }));
  });

  it('stops renewing when stopped, and releases the lock (nobody took the release over)', async () => {
    const { storage, inner, calls } = recording();
    await inner.setIfAbsent!(lockKey, 'mine', 300);
    const stop = holdLease(servicesWith(storage, { lock: { ttlMs: 300 } }), at, 'mine');
    vi.advanceTimersByTime(100);
    stop();
    expect(calls.deleteIfEquals).toEqual([]); // a microtask later: someone may still take it over
    await settle();
    expect(calls.deleteIfEquals).toEqual([[lockKey, 'mine']]);
    expect(await inner.get(lockKey)).toBeUndefined();
    vi.advanceTimersByTime(1_000);
    expect(calls.renewIfEquals).toHaveLength(1);
  });

  it('a renewal that fails is left to the next one', async () => {
    let renewals = 0;
    const storage: Storage = { ...memoryStorage(), renewIfEquals: () => (renewals++, Promise.reject(new Error('flaky'))) };
    const stop = holdLease(servicesWith(storage, { lock: { ttlMs: 30 } }), at, 'mine');
    vi.advanceTimersByTime(30);
    await settle();
    expect(renewals).toBe(3);
    stop();
    await settle();
  });

  it('a lease over a storage without renewIfEquals renews nothing, and is still released when stopped', async () => {
    const { storage, inner, calls } = recording({ without: ['renewIfEquals'] });
    await inner.setIfAbsent!(lockKey, 'mine', 60_000);
    const stop = holdLease(servicesWith(storage, { lock: { ttlMs: 30 } }), at, 'mine');
    vi.advanceTimersByTime(1_000); // a renewal here would call the missing method, and throw from the timer
    stop();
    await settle();
    expect(calls.deleteIfEquals).toEqual([[lockKey, 'mine']]);
    expect(await inner.get(lockKey)).toBeUndefined();
  });

  it('without a lock token (a storage without setIfAbsent) there is nothing to renew or release', async () => {
    const { storage, calls } = recording();
    const stop = holdLease(servicesWith(storage, { lock: { ttlMs: 30 } }), at, undefined);
    vi.advanceTimersByTime(1_000);
    stop();
    await settle();
    expect(calls).toEqual({ setIfAbsent: [], renewIfEquals: [], deleteIfEquals: [], get: [], delete: [] });
  });
});

describe('the release is taken over: released once, by whoever took it', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'], now: 0 });
  });

  it('the machine releases in the same step as the lease stops: one release, and releaseHeldLock waits for it', async () => {
    const { storage, inner, calls } = recording();
    const services = servicesWith(storage, { lock: { ttlMs: 300 } });
    await inner.setIfAbsent!(lockKey, 'mine', 300);
    const stop = holdLease(services, at, 'mine');
    stop();
    const released = releaseHeldLock(services, at, 'mine');
    expect(released).toBeInstanceOf(Promise);
    await released;
    expect(await inner.get(lockKey)).toBeUndefined();
    await settle();
    expect(calls.deleteIfEquals).toEqual([[lockKey, 'mine']]);
  });

  it('the same, with the machine release first and the lease stopped after it', async () => {
    const { storage, inner, calls } = recording();
    const services = servicesWith(storage, { lock: { ttlMs: 300 } });
    await inner.setIfAbsent!(lockKey, 'mine', 300);
    const stop = holdLease(services, at, 'mine');
    const released = releaseHeldLock(services, at, 'mine');
    stop();
    await released;
    await settle();
    expect(calls.deleteIfEquals).toEqual([[lockKey, 'mine']]);
    expect(await inner.get(lockKey)).toBeUndefined();
  });

  it("releaseHeldLock forgets the take-over afterwards: a later lease under the same token releases on its own", async () => {
    const { storage, inner, calls } = recording();
    const services = servicesWith(storage, { lock: { ttlMs: 300 } });
    await releaseHeldLock(services, at, 'reused');
    await settle();
    await inner.setIfAbsent!(lockKey, 'reused', 300);
    holdLease(services, at, 'reused')();
    await settle();
    expect(calls.deleteIfEquals).toEqual([
      [lockKey, 'reused'],
      [lockKey, 'reused'],
    ]);
    expect(await inner.get(lockKey)).toBeUndefined();
  });

  it('releaseHeldLock reports a release that fails (the machine turns it into storage_error)', async () => {
    const cause = new Error('disk on fire');
    const storage: Storage = { ...memoryStorage(), deleteIfEquals: () => Promise.reject(cause) };
    await expect(releaseHeldLock(servicesWith(storage), at, 'mine')).rejects.toBe(cause);
    await settle();
  });

  it('releaseHeldLock without a token does nothing', async () => {
    const { storage, calls } = recording();
    await expect(releaseHeldLock(servicesWith(storage), at, undefined)).resolves.toBeUndefined();
    await settle();
    expect(calls.deleteIfEquals).toEqual([]);
    expect(calls.get).toEqual([]);
  });

  it('a request that outlives a stop keeps the lock, renewed, until it settles; then it is released once', async () => {
    const { storage, inner, calls } = recording();
    const services = servicesWith(storage, { lock: { ttlMs: 300 } });
    await inner.setIfAbsent!(lockKey, 'mine', 300);
    const stop = holdLease(services, at, 'mine');
    let finish!: () => void;
    const work = new Promise<void>((resolve) => (finish = resolve));
    stop();
    keepLeaseUntil(services, at, 'mine', work);
    await settle();
    expect(calls.deleteIfEquals).toEqual([]);
    vi.advanceTimersByTime(1_000); // past three TTLs: still held, by its renewals
    expect(calls.renewIfEquals.length).toBe(10);
    expect(calls.renewIfEquals.every(([k, v, t]) => k === lockKey && v === 'mine' && t === 300)).toBe(true);
    expect(await inner.get(lockKey)).toBe('mine');
    finish();
    await settle();
    expect(calls.deleteIfEquals).toEqual([[lockKey, 'mine']]);
    expect(await inner.get(lockKey)).toBeUndefined();
    vi.advanceTimersByTime(1_000);
    expect(calls.renewIfEquals.length).toBe(10);
  });

  it('a request that fails is released all the same', async () => {
    const { storage, inner, calls } = recording();
    const services = servicesWith(storage, { lock: { ttlMs: 300 } });
    await inner.setIfAbsent!(lockKey, 'mine', 300);
    const stop = holdLease(services, at, 'mine');
    let fail!: (error: Error) => void;
    const work = new Promise<void>((_, reject) => (fail = reject));
    stop();
    keepLeaseUntil(services, at, 'mine', work);
    await settle();
    expect(await inner.get(lockKey)).toBe('mine');
    fail(new Error('network down'));
    await settle();
    expect(calls.deleteIfEquals).toEqual([[lockKey, 'mine']]);
    expect(await inner.get(lockKey)).toBeUndefined();
  });

  it('keepLeaseUntil without a token does nothing', async () => {
    const { storage, calls } = recording();
    keepLeaseUntil(servicesWith(storage, { lock: { ttlMs: 30 } }), at, undefined, Promise.resolve());
    vi.advanceTimersByTime(1_000);
    await settle();
    expect(calls).toEqual({ setIfAbsent: [], renewIfEquals: [], deleteIfEquals: [], get: [], delete: [] });
  });
});

describe('releaseLock: by its holder only', () => {
  it('with deleteIfEquals: one atomic compare-and-delete, nothing read', async () => {
    const { storage, inner, calls } = recording();
    await inner.setIfAbsent!(lockKey, 'mine', 60_000);
    await releaseLock(servicesWith(storage), at, 'mine');
    expect(calls.deleteIfEquals).toEqual([[lockKey, 'mine']]);
    expect(calls.get).toEqual([]);
    expect(calls.delete).toEqual([]);
    expect(await inner.get(lockKey)).toBeUndefined();
  });

  it('with deleteIfEquals: a lock that is another holder’s by now is kept', async () => {
    const { storage, inner } = recording();
    await inner.setIfAbsent!(lockKey, 'theirs', 60_000);
    await releaseLock(servicesWith(storage), at, 'mine');
    expect(await inner.get(lockKey)).toBe('theirs');
  });

  it('waits for the deletion, and reports its failure', async () => {
    let done!: () => void;
    const storage: Storage = { ...memoryStorage(), deleteIfEquals: () => new Promise<boolean>((resolve) => (done = () => resolve(true))) };
    let resolved = false;
    const release = releaseLock(servicesWith(storage), at, 'mine').then(() => (resolved = true));
    await settle();
    expect(resolved).toBe(false);
    done();
    await release;
    expect(resolved).toBe(true);
    const failing: Storage = { ...memoryStorage(), deleteIfEquals: () => Promise.reject(new Error('disk on fire')) };
    await expect(releaseLock(servicesWith(failing), at, 'mine')).rejects.toThrow('disk on fire');
  });

  it('without deleteIfEquals: deletes the lock only while it is still this holder’s', async () => {
    const { storage, inner, calls } = recording({ without: ['deleteIfEquals'] });
    await inner.setIfAbsent!(lockKey, 'theirs', 60_000);
    await releaseLock(servicesWith(storage), at, 'mine');
    expect(await inner.get(lockKey)).toBe('theirs');
    expect(calls.delete).toEqual([]);
    await inner.delete(lockKey);
    await inner.setIfAbsent!(lockKey, 'mine', 60_000);
    await releaseLock(servicesWith(storage), at, 'mine');
    expect(calls.delete).toEqual([lockKey]);
    expect(await inner.get(lockKey)).toBeUndefined();
  });

  it('without a token there is nothing to release', async () => {
    const { storage, calls } = recording({ without: ['deleteIfEquals'] });
    await releaseLock(servicesWith(storage), at, undefined);
    expect(calls).toEqual({ setIfAbsent: [], renewIfEquals: [], deleteIfEquals: [], get: [], delete: [] });
  });
});
