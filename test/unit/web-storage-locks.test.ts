import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Storage } from '../../src/services/types.js';
import { webStorage, type LockManagerLike } from '../../src/services/web-storage.js';
import { storageContract } from '../storage/contract.js';

/**
 * webStorage's lock operations over a fake Web Locks LockManager: exclusive locks per name,
 * `ifAvailable`, `steal` (the holder's request rejects with AbortError), `signal`, and tabs that
 * close (the browser frees their locks at once). Several "tabs" are several webStorage instances
 * over one shared store and one fake LockManager.
 */

interface Request {
  tab: number;
  name: string;
  callback: (lock: unknown) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

class FakeLocks {
  readonly holders = new Map<string, Request>();
  readonly queues = new Map<string, Request[]>();
  readonly closed = new Set<number>();
  /** Every request's name and options, in order. */
  readonly log: Array<{ tab: number; name: string; options: string }> = [];

  tab(tab: number): LockManagerLike {
    return {
      request: <T>(name: string, options: { ifAvailable?: boolean; steal?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => T | Promise<T>) =>
        new Promise<T>((resolve, reject) => {
          this.log.push({ tab, name, options: Object.keys(options).join(',') });
          if (this.closed.has(tab)) return;
          const request: Request = { tab, name, callback, resolve: resolve as (value: unknown) => void, reject };
          if (options.steal) {
            const holder = this.holders.get(name);
            if (holder) {
              this.holders.delete(name);
              holder.reject(new DOMException('the lock was stolen', 'AbortError'));
            }
            return this.grant(request);
          }
          if (options.ifAvailable && (this.holders.has(name) || (this.queues.get(name)?.length ?? 0) > 0)) {
            void Promise.resolve()
              .then(() => callback(null))
              .then(resolve, reject);
            return;
          }
          const queue = this.queues.get(name) ?? [];
          this.queues.set(name, queue);
          queue.push(request);
          options.signal?.addEventListener('abort', () => {
            const at = queue.indexOf(request);
            if (at >= 0) queue.splice(at, 1);
            reject(options.signal!.reason);
          });
          this.next(name);
        }),
    };
  }

  /** The browser frees a closed tab's locks at once; its pending requests are gone with it. */
  close(tab: number) {
    this.closed.add(tab);
    for (const [name, queue] of this.queues) this.queues.set(name, queue.filter((r) => r.tab !== tab));
    for (const [name, holder] of [...this.holders]) {
      if (holder.tab !== tab) continue;
      this.holders.delete(name);
      this.next(name);
    }
  }

  held(name: string): number | undefined {
    return this.holders.get(name)?.tab;
  }

  private next(name: string) {
    if (this.holders.has(name)) return;
    const request = this.queues.get(name)?.shift();
    if (request) this.grant(request);
  }

  private grant(request: Request) {
    this.holders.set(request.name, request);
    void Promise.resolve()
      .then(() => request.callback({ name: request.name, mode: 'exclusive' }))
      .then(
        (value) => this.settle(request, () => request.resolve(value)),
        (error) => this.settle(request, () => request.reject(error)),
      );
  }

  private settle(request: Request, done: () => void) {
    if (this.closed.has(request.tab)) return;
    if (this.holders.get(request.name) === request) {
      this.holders.delete(request.name);
      this.next(request.name);
      done();
    }
    // A stolen request was rejected already.
  }
}

function mapStore() {
  const map = new Map<string, string>();
  return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k), map };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const KEY = 'grantflow:oidc:app:tokens:default:lock';
const NAME = `grantflow:${KEY}`;

/** `count` tabs sharing one localStorage and one LockManager. */
function tabs(count: number, clock?: { now(): number }) {
  const locks = new FakeLocks();
  const store = mapStore();
  const storages: Storage[] = Array.from({ length: count }, (_, i) => webStorage(store, { locks: locks.tab(i), ...(clock ? { clock } : {}) }));
  return { locks, store, storages };
}

const entryOf = (store: ReturnType<typeof mapStore>, key = KEY) => {
  const raw = store.map.get(key);
  return raw === undefined ? undefined : (JSON.parse(raw) as { v: string; e?: number });
};

storageContract('webStorage over a fake LockManager', () => webStorage(mapStore(), { locks: new FakeLocks().tab(0) }));

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('webStorage with Web Locks: the refresh lock across tabs', () => {
  it('one tab holds the Web Lock from setIfAbsent to deleteIfEquals; the entry beside it shows holder and expiry', async () => {
    let now = 1_000;
    const { locks, store, storages } = tabs(2, { now: () => now });
    const [one, two] = storages as [Storage, Storage];
    expect(await one.setIfAbsent!(KEY, 'one', 5_000)).toBe(true);
    expect(locks.held(NAME)).toBe(0);
    expect(entryOf(store)).toEqual({ v: 'one', e: 6_000 });
    expect(await two.setIfAbsent!(KEY, 'two', 5_000)).toBe(false);
    expect(await one.setIfAbsent!(KEY, 'one-again', 5_000)).toBe(false);

    // Renewal: only by the holder, with its value.
    now = 3_000;
    expect(await two.renewIfEquals!(KEY, 'one', 5_000)).toBe(false);
    expect(await one.renewIfEquals!(KEY, 'two', 5_000)).toBe(false);
    expect(await one.renewIfEquals!(KEY, 'one', 5_000)).toBe(true);
    expect(entryOf(store)).toEqual({ v: 'one', e: 8_000 });

    // Release: only by the holder; another tab's deleteIfEquals with the right value frees nothing.
    expect(await two.deleteIfEquals!(KEY, 'one')).toBe(false);
    expect(locks.held(NAME)).toBe(0);
    expect(entryOf(store)?.v).toBe('one');
    expect(await one.deleteIfEquals!(KEY, 'two')).toBe(false);
    expect(await one.deleteIfEquals!(KEY, 'one')).toBe(true);
    expect(entryOf(store)).toBeUndefined();
    await sleep(0);
    expect(locks.held(NAME)).toBeUndefined();
    expect(await one.renewIfEquals!(KEY, 'one', 5_000)).toBe(false);

    expect(await two.setIfAbsent!(KEY, 'two', 5_000)).toBe(true);
    expect(locks.held(NAME)).toBe(1);
    expect(locks.log.filter((r) => r.name === NAME).map((r) => r.options)).toEqual(['ifAvailable', 'ifAvailable', 'ifAvailable', 'ifAvailable']);
  });

  it('of 20 tabs × 5 callers at once, exactly one holds the lock', async () => {
    const { storages } = tabs(20);
    const wins = await Promise.all(storages.flatMap((s, tab) => Array.from({ length: 5 }, (_, i) => s.setIfAbsent!(KEY, `t${tab}-${i}`, 60_000))));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });

  it('a hung holder (it stops renewing) is taken over once its lease ran out, by one tab of several; it has lost the lock', async () => {
    let now = 0;
    const { locks, store, storages } = tabs(4, { now: () => now });
    const [hung, ...others] = storages as [Storage, Storage, Storage, Storage];
    expect(await hung.setIfAbsent!(KEY, 'hung', 5_000)).toBe(true);
    now = 4_999;
    expect(await Promise.all(others.map((s, i) => s.setIfAbsent!(KEY, `o${i}`, 5_000)))).toEqual([false, false, false]);
    now = 5_000;
    const wins = await Promise.all(others.map((s, i) => s.setIfAbsent!(KEY, `o${i}`, 5_000)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    const winner = wins.indexOf(true);
    expect(locks.held(NAME)).toBe(winner + 1);
    expect(entryOf(store)).toEqual({ v: `o${winner}`, e: 10_000 });
    expect(locks.log.filter((r) => r.options === 'steal')).toHaveLength(1);

    // The hung tab comes back: its lease is gone, and it cannot renew or release the new holder's.
    await sleep(0);
    expect(await hung.renewIfEquals!(KEY, 'hung', 5_000)).toBe(false);
    expect(await hung.deleteIfEquals!(KEY, 'hung')).toBe(false);
    expect(entryOf(store)?.v).toBe(`o${winner}`);
    expect(locks.held(NAME)).toBe(winner + 1);
    expect(await hung.setIfAbsent!(KEY, 'hung-again', 5_000)).toBe(false);

    // Later tabs that see the same expired lease (a view of the storage behind) do not steal again.
    const loser = others.find((_, i) => i !== winner)!;
    store.map.set(KEY, JSON.stringify({ v: 'hung', e: 5_000 }));
    expect(await loser.setIfAbsent!(KEY, 'late', 5_000)).toBe(false);
    expect(locks.held(NAME)).toBe(winner + 1);
    store.map.set(KEY, JSON.stringify({ v: `o${winner}`, e: 10_000 }));

    // The new holder works and releases as usual; the takeover lock goes with it.
    expect(await others[winner]!.renewIfEquals!(KEY, `o${winner}`, 5_000)).toBe(true);
    expect(await others[winner]!.deleteIfEquals!(KEY, `o${winner}`)).toBe(true);
    await sleep(0);
    expect(locks.holders.size).toBe(0);
    expect(await loser.setIfAbsent!(KEY, 'next', 5_000)).toBe(true);
  });

  it('a tab that closes while it holds the lock frees it at once, not after the lease', async () => {
    const { locks, store, storages } = tabs(2);
    const [closing, other] = storages as [Storage, Storage];
    expect(await closing.setIfAbsent!(KEY, 'closing', 60_000)).toBe(true);
    expect(await other.setIfAbsent!(KEY, 'other', 60_000)).toBe(false);
    locks.close(0);
    const started = performance.now();
    expect(await other.setIfAbsent!(KEY, 'other', 60_000)).toBe(true);
    // It waited for the closed tab's entry to leave its view of the storage (it never does) for the
    // settle time only (1 s), not for the 60 s lease.
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(5_000);
    expect(entryOf(store)?.v).toBe('other');
  });

  it("a view that lags by half a second (Chromium under load) is waited for too: the stale tokens are never read as current", async () => {
    const { store, storages } = tabs(1);
    store.map.set(KEY, JSON.stringify({ v: 'previous', e: Date.now() + 60_000 }));
    setTimeout(() => store.map.delete(KEY), 500);
    const started = performance.now();
    expect(await storages[0]!.setIfAbsent!(KEY, 'mine', 60_000)).toBe(true);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(490);
    expect(waited).toBeLessThan(950);
    expect(entryOf(store)?.v).toBe('mine');
  });

  it("a lock just granted waits for the previous holder's entry to leave its view of the storage (its stored tokens show by then)", async () => {
    const { store, storages } = tabs(1);
    store.map.set(KEY, JSON.stringify({ v: 'previous', e: Date.now() + 60_000 }));
    setTimeout(() => store.map.delete(KEY), 30);
    const started = performance.now();
    expect(await storages[0]!.setIfAbsent!(KEY, 'mine', 60_000)).toBe(true);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(25);
    expect(waited).toBeLessThan(100);
    expect(entryOf(store)?.v).toBe('mine');
  });

  it('a lock held without its entry (the storage was cleared) is taken over after a lease counted by this tab', async () => {
    let now = 0;
    const { locks, store, storages } = tabs(2, { now: () => now });
    const [holder, other] = storages as [Storage, Storage];
    expect(await holder.setIfAbsent!(KEY, 'holder', 5_000)).toBe(true);
    store.map.clear();
    now = 1_000;
    expect(await other.setIfAbsent!(KEY, 'other', 5_000)).toBe(false);
    now = 5_999;
    expect(await other.setIfAbsent!(KEY, 'other', 5_000)).toBe(false);
    now = 6_000;
    expect(await other.setIfAbsent!(KEY, 'other', 5_000)).toBe(true);
    expect(locks.held(NAME)).toBe(1);
    await sleep(0);
    expect(await holder.renewIfEquals!(KEY, 'holder', 5_000)).toBe(false);
  });

  it('a lock stolen while it waited for the previous entry to go reports false and leaves the new holder entry alone', async () => {
    const { locks, store, storages } = tabs(2);
    const [waiting, thief] = storages as [Storage, Storage];
    store.map.set(KEY, JSON.stringify({ v: 'closed-tab', e: Date.now() + 60_000 }));
    const pending = waiting.setIfAbsent!(KEY, 'waiting', 60_000);
    await sleep(20);
    expect(locks.held(NAME)).toBe(0);
    // Another tab steals it meanwhile (it saw the lease run out, its clock ahead).
    store.map.set(KEY, JSON.stringify({ v: 'closed-tab', e: 0 }));
    expect(await thief.setIfAbsent!(KEY, 'thief', 60_000)).toBe(true);
    expect(await pending).toBe(false);
    await sleep(150);
    expect(entryOf(store)?.v).toBe('thief');
    expect(locks.held(NAME)).toBe(1);
    expect(await waiting.renewIfEquals!(KEY, 'waiting', 60_000)).toBe(false);
  });

  it('a lock whose entry cannot be written (quota) is refused with the error and freed at once', async () => {
    const { locks, storages } = tabs(2);
    const broken = webStorage(
      {
        getItem: () => null,
        setItem: () => {
          throw new DOMException('quota', 'QuotaExceededError');
        },
        removeItem: () => {},
      },
      { locks: locks.tab(5) },
    );
    await expect(broken.setIfAbsent!(KEY, 'x', 5_000)).rejects.toMatchObject({ name: 'QuotaExceededError' });
    await sleep(0);
    expect(locks.held(NAME)).toBeUndefined();
    expect(await storages[0]!.setIfAbsent!(KEY, 'a', 5_000)).toBe(true);
  });
});

describe('webStorage with Web Locks: take', () => {
  it("reads and removes under the key's Web Lock: of 2 tabs × 25 callers exactly one gets the value", async () => {
    const { locks, store, storages } = tabs(2);
    await storages[0]!.set('grantflow:oidc:app:flow:s1', 'pending');
    const taken = await Promise.all(storages.flatMap((s) => Array.from({ length: 25 }, () => s.take!('grantflow:oidc:app:flow:s1'))));
    expect(taken.filter((v) => v === 'pending')).toHaveLength(1);
    expect(store.map.size).toBe(0);
    expect(new Set(locks.log.map((r) => r.name))).toEqual(new Set(['grantflow:grantflow:oidc:app:flow:s1']));
    expect(locks.log.every((r) => r.options === 'signal')).toBe(true);
  });

  it('waits for a tab holding the key lock, bounded', async () => {
    const { locks, storages } = tabs(2);
    await storages[0]!.set('grantflow:f', 'v');
    // Another tab holds the key's lock and hangs.
    void locks.tab(9).request('grantflow:grantflow:f', {}, () => new Promise(() => {}));
    vi.spyOn(AbortSignal, 'timeout').mockImplementation((ms: number) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), 20);
      return controller.signal;
    });
    try {
      await expect(storages[1]!.take!('grantflow:f')).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      vi.restoreAllMocks();
    }
    locks.close(9);
    expect(await storages[1]!.take!('grantflow:f')).toBe('v');
  });
});

describe('webStorage: where Web Locks are', () => {
  it('uses navigator.locks by default; `locks: false` turns it off (atomic within one tab, as without Web Locks)', async () => {
    const locks = new FakeLocks();
    vi.stubGlobal('navigator', { locks: locks.tab(0) });
    const store = mapStore();
    const byDefault = webStorage(store);
    expect(await byDefault.setIfAbsent!(KEY, 'a', 5_000)).toBe(true);
    expect(locks.held(NAME)).toBe(0);
    expect(await byDefault.deleteIfEquals!(KEY, 'a')).toBe(true);
    await sleep(0);

    const off = webStorage(store, { locks: false });
    expect(await off.setIfAbsent!(KEY, 'b', 5_000)).toBe(true);
    expect(locks.held(NAME)).toBeUndefined();
    expect(await off.setIfAbsent!(KEY, 'c', 5_000)).toBe(false);
    expect(await off.deleteIfEquals!(KEY, 'b')).toBe(true);
    expect(locks.log).toHaveLength(1);
  });

  it('without navigator.locks (Node), the storage works as before: atomic within one tab', async () => {
    vi.stubGlobal('navigator', undefined);
    const store = mapStore();
    const storage = webStorage(store);
    expect(await storage.setIfAbsent!(KEY, 'a', 5_000)).toBe(true);
    expect(await storage.setIfAbsent!(KEY, 'b', 5_000)).toBe(false);
    expect(await storage.renewIfEquals!(KEY, 'a', 5_000)).toBe(true);
    expect(await storage.deleteIfEquals!(KEY, 'a')).toBe(true);
    await storage.set('f', 'v');
    expect(await storage.take!('f')).toBe('v');
    expect(await storage.take!('f')).toBeUndefined();
  });

  it('a prefix is part of the lock name', async () => {
    const locks = new FakeLocks();
    const storage = webStorage(mapStore(), { locks: locks.tab(0), prefix: 'app1:' });
    expect(await storage.setIfAbsent!(KEY, 'a', 5_000)).toBe(true);
    expect(locks.held(`grantflow:app1:${KEY}`)).toBe(0);
  });
});
