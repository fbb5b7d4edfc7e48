import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { indexedDbStorage } from '../../src/services/indexeddb-storage.js';
import { storageContract } from './contract.js';

/**
 * indexedDbStorage in Node, over fake-indexeddb (an in-memory IndexedDB that follows the spec,
 * transaction scheduling included). Real Chromium, with a page and a Web Worker sharing one
 * database, is test/browser/worker.test.ts.
 */

// A fresh factory per storage: nothing is shared between the contract's tests.
storageContract('indexedDbStorage (fake-indexeddb)', () => indexedDbStorage({ indexedDB: new IDBFactory() }));

const openDatabase = (idb: IDBFactory, name: string) =>
  new Promise<IDBDatabase>((resolve, reject) => {
    const request = idb.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

describe('indexedDbStorage', () => {
  afterEach(() => vi.restoreAllMocks());

  it('touches IndexedDB only when first used, and opens the database once', async () => {
    const idb = new IDBFactory();
    const open = vi.spyOn(idb, 'open');
    const storage = indexedDbStorage({ indexedDB: idb, name: 'lazy' });
    expect(open).not.toHaveBeenCalled();
    await Promise.all([storage.set('a', '1'), storage.get('a'), storage.setIfAbsent!('b', '2', 1000)]);
    await storage.get('b');
    expect(open).toHaveBeenCalledTimes(1);
  });

  it('without indexedDB: created fine, and each call rejects with invalid_configuration naming indexedDB', async () => {
    expect((globalThis as { indexedDB?: unknown }).indexedDB).toBeUndefined();
    const storage = indexedDbStorage();
    for (const call of [storage.get('k'), storage.set('k', 'v'), storage.setIfAbsent!('k', 'v', 10), storage.take!('k')]) {
      await expect(call).rejects.toMatchObject({ name: 'OAuthError', code: 'invalid_configuration', field: 'indexedDB', message: expect.stringContaining('indexedDB') });
    }
  });

  it('uses globalThis.indexedDB when present, looked up at first use', async () => {
    const storage = indexedDbStorage({ name: 'global' });
    const idb = new IDBFactory();
    vi.stubGlobal('indexedDB', idb);
    try {
      await storage.set('k', 'v');
      const db = await openDatabase(idb, 'global');
      expect([...db.objectStoreNames]).toEqual(['kv']);
      db.close();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('two storages over one database (two tabs, a tab and a worker) see each other; of 50 concurrent setIfAbsent across both, one wins', async () => {
    const idb = new IDBFactory();
    const a = indexedDbStorage({ indexedDB: idb });
    const b = indexedDbStorage({ indexedDB: idb });
    await a.set('grantflow:p:c:tokens:default', '{"accessToken":"x"}');
    expect(await b.get('grantflow:p:c:tokens:default')).toBe('{"accessToken":"x"}');
    for (let round = 0; round < 5; round++) {
      const key = `grantflow:p:c:tokens:default:lock:${round}`;
      const wins = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).setIfAbsent!(key, `v${i}`, 60_000)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      const winner = `v${wins.indexOf(true)}`;
      expect(await a.get(key)).toBe(winner);
      // Released by its holder only, whichever storage it uses.
      expect(await a.deleteIfEquals!(key, 'v-other')).toBe(false);
      expect(await b.deleteIfEquals!(key, winner)).toBe(true);
    }
    await b.set('grantflow:p:c:flow:s', 'pending');
    const taken = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).take!('grantflow:p:c:flow:s')));
    expect(taken.filter((value) => value !== undefined)).toEqual(['pending']);
  });

  it('stores values with their expiry, ignores expired ones and removes them when touched', async () => {
    let now = 1_000_000;
    const clock = { now: () => now };
    const idb = new IDBFactory();
    const storage = indexedDbStorage({ indexedDB: idb, name: 'ttl', clock });
    await storage.set('k', 'v', { ttlMs: 100 });
    await storage.set('forever', 'v');
    const raw = async (key: string) => {
      const db = await openDatabase(idb, 'ttl');
      try {
        return await new Promise((resolve, reject) => {
          const request = db.transaction('kv').objectStore('kv').get(key);
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
      } finally {
        db.close();
      }
    };
    expect(await raw('k')).toEqual({ v: 'v', e: 1_000_100 });
    expect(await raw('forever')).toEqual({ v: 'v' });
    now += 100;
    expect(await storage.get('k')).toBeUndefined();
    await vi.waitFor(async () => expect(await raw('k')).toBeUndefined());
    await storage.set('k', 'v', { ttlMs: 100 });
    now += 200;
    expect(await storage.setIfAbsent!('k', 'w', 100)).toBe(true);
    expect(await storage.renewIfEquals!('k', 'w', 1_000)).toBe(true);
    expect(await raw('k')).toEqual({ v: 'w', e: now + 1_000 });
    now += 5_000;
    expect(await storage.renewIfEquals!('k', 'w', 1_000)).toBe(false);
    expect(await raw('k')).toBeUndefined();
  });

  it('closes on versionchange: another context deletes or upgrades the database without being blocked; the storage opens it again', async () => {
    const idb = new IDBFactory();
    const storage = indexedDbStorage({ indexedDB: idb, name: 'shared' });
    await storage.set('k', 'v');
    const blocked = vi.fn();
    await new Promise<void>((resolve, reject) => {
      const request = idb.deleteDatabase('shared');
      request.onblocked = blocked;
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    });
    expect(blocked).not.toHaveBeenCalled();
    expect(await storage.get('k')).toBeUndefined();
    await storage.set('k', 'again');
    expect(await storage.get('k')).toBe('again');

    // An upgrade by another app of the origin (a store of its own) is not blocked either.
    const upgraded = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = idb.open('shared', 10);
      request.onblocked = blocked;
      request.onupgradeneeded = () => request.result.createObjectStore('other');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    upgraded.close();
    expect(blocked).not.toHaveBeenCalled();
    expect(await storage.get('k')).toBe('again');
  });

  it('a second storeName in an existing database is added with an upgrade; both keep their values', async () => {
    const idb = new IDBFactory();
    const first = indexedDbStorage({ indexedDB: idb, name: 'app' });
    await first.set('k', 'first');
    const second = indexedDbStorage({ indexedDB: idb, name: 'app', storeName: 'other' });
    await second.set('k', 'second');
    expect(await first.get('k')).toBe('first');
    expect(await second.get('k')).toBe('second');
    const db = await openDatabase(idb, 'app');
    expect([...db.objectStoreNames].sort()).toEqual(['kv', 'other']);
    db.close();
  });

  it('a failed or aborted transaction rejects with storage_error naming the operation; the next call works', async () => {
    const storage = indexedDbStorage({ indexedDB: new IDBFactory() });
    await storage.set('k', 'v');
    // A write refused inside the transaction (as a full disk would be): the transaction aborts.
    const put = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementationOnce(() => {
      throw new DOMException('the quota is exceeded', 'QuotaExceededError');
    });
    await expect(storage.setIfAbsent!('lock', 'mine', 1_000)).rejects.toMatchObject({
      name: 'OAuthError',
      code: 'storage_error',
      message: expect.stringMatching(/^setIfAbsent\("lock"\) failed in IndexedDB database "grantflow", store "kv": .*QuotaExceededError/),
    });
    put.mockRestore();
    // Nothing of it was written, and the storage goes on.
    expect(await storage.get('lock')).toBeUndefined();
    expect(await storage.setIfAbsent!('lock', 'mine', 1_000)).toBe(true);

    // A request that fails (a key IndexedDB refuses) is reported the same way.
    await expect(storage.take!(undefined as unknown as string)).rejects.toMatchObject({ code: 'storage_error', message: expect.stringContaining('take(') });
    expect(await storage.get('k')).toBe('v');
  });

  it('an open that fails, or stays blocked by a connection that never closes, rejects with storage_error (and is tried again later)', async () => {
    const failing = {
      open: () => {
        throw new DOMException('access to IndexedDB is denied', 'SecurityError');
      },
    } as unknown as IDBFactory;
    await expect(indexedDbStorage({ indexedDB: failing }).get('k')).rejects.toMatchObject({
      code: 'storage_error',
      message: expect.stringMatching(/^get\("k"\) failed in IndexedDB database "grantflow", store "kv": could not open the database: SecurityError/),
    });

    const idb = new IDBFactory();
    // Someone else's connection that ignores versionchange, on a database without our store.
    const stubborn = await openDatabase(idb, 'stuck');
    const storage = indexedDbStorage({ indexedDB: idb, name: 'stuck' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const pending = storage.get('k');
      const settled = expect(pending).rejects.toMatchObject({ code: 'storage_error', message: expect.stringContaining('blocked by another connection') });
      await vi.waitFor(() => expect(vi.getTimerCount()).toBeGreaterThan(0));
      await vi.advanceTimersByTimeAsync(10_000);
      await settled;
    } finally {
      vi.useRealTimers();
    }
    stubborn.close();
    // Once it is gone, the next call opens (and upgrades) the database.
    await storage.set('k', 'v');
    expect(await storage.get('k')).toBe('v');
  });
});
