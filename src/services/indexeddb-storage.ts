import type { CryptoKeyPairLike } from '../crypto/web-types.js';
import { OAuthError } from '../errors.js';
import type { Clock, Storage } from './types.js';

export interface IndexedDbStorageOptions {
  /** The database name. Default `grantflow`. */
  name?: string;
  /** The object store in it. Default `kv`. */
  storeName?: string;
  /** The IndexedDB factory. Default `globalThis.indexedDB`, looked up at first use. */
  /** An IndexedDB factory (typed by its shape, so the types need no DOM lib); default globalThis.indexedDB. */
  indexedDB?: { open(name: string, version?: number): unknown };
  clock?: Clock;
}

/** What is stored under each key: the value and, when it has a TTL, its expiry (epoch ms). */
interface Entry {
  v: string;
  e?: number;
}

/**
 * Where a key pair is stored: an array key, which no string key can equal, in the same store (so
 * no schema upgrade). IndexedDB structured-clones CryptoKey objects, non-extractable ones included.
 */
const keyPairKey = (key: string) => ['grantflow:keyPair', key];

/** One transaction as `transact` hands it to an operation. */
interface Tx<T> {
  store: IDBObjectStore;
  /** What the operation resolves with once the transaction has committed. */
  keep(result: T): void;
  /** Runs a request callback: an exception in it aborts the transaction and rejects with that error. */
  step(run: () => void): void;
}

/** How long an open may wait for other connections that do not close on `versionchange`. */
const BLOCKED_TIMEOUT_MS = 10_000;

const describeError = (error: unknown) =>
  typeof error === 'object' && error !== null && 'name' in error && 'message' in error ? `${String(error.name)}: ${String(error.message)}` : String(error ?? 'unknown error');

/**
 * IndexedDB as grantflow storage, for browsers and Web Workers (where `sessionStorage` and
 * `localStorage` do not exist). The tabs, workers and service workers of one origin share it.
 *
 * Values with a TTL are stored with their expiry and count as absent once it has passed; an
 * expired entry is removed when next touched. The database is opened once, at first use (nothing
 * touches IndexedDB before), and closed when another connection asks for a new version or its
 * deletion (`versionchange`); the next call opens it again.
 *
 * setIfAbsent, deleteIfEquals, renewIfEquals and take each read and write in ONE readwrite
 * transaction on the store. IndexedDB never runs two readwrite transactions on overlapping scopes
 * at the same time, in any context of the origin: the second starts only after the first has
 * committed. So each of them is atomic across every tab and worker, like Redis SET NX or GETDEL.
 * Each call resolves once its transaction has committed, and rejects with `storage_error` naming
 * the operation when the transaction fails or aborts.
 *
 * getKeyPair and setKeyPairIfAbsent keep CryptoKeyPairs as they are (structured clone), beside the
 * string values; setKeyPairIfAbsent is atomic like setIfAbsent, and `delete(key)` removes both.
 */
export function indexedDbStorage(options: IndexedDbStorageOptions = {}): Storage {
  const name = options.name ?? 'grantflow';
  const storeName = options.storeName ?? 'kv';
  const clock = options.clock ?? { now: () => Date.now() };
  const where = `IndexedDB database "${name}", store "${storeName}"`;
  /** A storage_error naming the operation; a configuration error (no indexedDB) is passed on as it is. */
  const failure = (operation: string, error: unknown) =>
    error instanceof OAuthError && error.code === 'invalid_configuration'
      ? error
      : new OAuthError('storage_error', `${operation} failed in ${where}: ${error instanceof OAuthError ? error.message : describeError(error)}`, { cause: error });
  const openFailure = (detail: string) => new OAuthError('storage_error', `could not open the database: ${detail}`);

  let connection: Promise<IDBDatabase> | undefined;

  function factory(): IDBFactory {
    const found = (options.indexedDB as IDBFactory | undefined) ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!found) {
      throw new OAuthError('invalid_configuration', 'indexedDbStorage: indexedDB is not available here; pass options.indexedDB, or use another storage', {
        field: 'indexedDB',
      });
    }
    return found;
  }

  /** Opens the database (creating the store, with a version upgrade, when it is missing). */
  function open(idb: IDBFactory, version: number | undefined, attempt: number): Promise<IDBDatabase> {
    return new Promise<IDBDatabase>((resolve, reject) => {
      let settled = false;
      let blockedTimer: ReturnType<typeof setTimeout> | undefined;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        if (blockedTimer !== undefined) clearTimeout(blockedTimer);
        outcome();
      };
      let request: IDBOpenDBRequest;
      try {
        request = version === undefined ? idb.open(name) : idb.open(name, version);
      } catch (error) {
        settle(() => reject(openFailure(describeError(error))));
        return;
      }
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(storeName)) db.createObjectStore(storeName);
      };
      request.onblocked = () => {
        // Other connections that close on versionchange (as this adapter's do) unblock it soon.
        blockedTimer ??= setTimeout(
          () => settle(() => reject(openFailure('blocked by another connection that does not close on versionchange'))),
          BLOCKED_TIMEOUT_MS,
        );
      };
      request.onerror = (event) => {
        event.preventDefault();
        const error = request.error;
        // Another context upgraded first (to add the same store): open its version instead.
        if (error?.name === 'VersionError' && attempt < 3) settle(() => resolve(open(idb, undefined, attempt + 1)));
        else settle(() => reject(openFailure(describeError(error))));
      };
      request.onsuccess = () => {
        const db = request.result;
        if (settled) {
          db.close(); // it gave up waiting (blocked): do not keep a connection nobody uses
          return;
        }
        if (!db.objectStoreNames.contains(storeName)) {
          // The database exists without this store (another storeName): add it with an upgrade.
          db.close();
          if (attempt >= 3) settle(() => reject(openFailure(`the object store is still missing after ${attempt} upgrades`)));
          else settle(() => resolve(open(idb, db.version + 1, attempt + 1)));
          return;
        }
        settle(() => resolve(db));
      };
    });
  }

  function database(): Promise<IDBDatabase> {
    if (connection) return connection;
    let opened: Promise<IDBDatabase>;
    try {
      opened = open(factory(), undefined, 0);
    } catch (error) {
      return Promise.reject(error);
    }
    const current = opened.then((db) => {
      const forget = () => {
        if (connection === current) connection = undefined;
      };
      // Another connection wants a new version or to delete the database: let it, open again later.
      db.onversionchange = () => {
        db.close();
        forget();
      };
      // Closed by the browser (storage cleared, disk error).
      db.onclose = forget;
      return db;
    });
    connection = current;
    current.catch(() => {
      if (connection === current) connection = undefined; // the next call tries again
    });
    return current;
  }

  /**
   * Runs `body` in one transaction and settles with what it `keep`s, once the transaction has
   * committed (or with a storage_error when it errs or aborts). `body` issues its requests and
   * chains them in their `onsuccess` handlers (through `step`, which turns an exception into a
   * rejection with that error and aborts), so every read and write is in this transaction.
   */
  async function transact<T>(operation: string, mode: IDBTransactionMode, body: (tx: Tx<T>) => void): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let opening: Promise<IDBDatabase>;
      let tx: IDBTransaction;
      try {
        opening = database();
        tx = (await opening).transaction(storeName, mode);
      } catch (error) {
        // A connection the browser closed under us (InvalidStateError): forget it and open again, once.
        if (attempt === 0 && (error as { name?: unknown } | null)?.name === 'InvalidStateError') {
          if (connection === opening!) connection = undefined;
          continue;
        }
        throw failure(operation, error);
      }
      return new Promise<T>((resolve, reject) => {
        let result: T;
        let failed = false;
        const fail = (error: unknown) => {
          if (failed) return;
          failed = true;
          reject(failure(operation, error));
        };
        tx.oncomplete = () => {
          if (!failed) resolve(result);
        };
        tx.onerror = (event) => fail((event.target as IDBRequest | null)?.error ?? tx.error);
        tx.onabort = () => fail(tx.error ?? 'the transaction was aborted');
        const abort = (error: unknown) => {
          fail(error);
          try {
            tx.abort();
          } catch {
            // it has finished already
          }
        };
        const step: Tx<T>['step'] = (run) => {
          try {
            run();
          } catch (error) {
            abort(error);
          }
        };
        step(() =>
          body({
            store: tx.objectStore(storeName),
            keep: (value) => {
              result = value;
            },
            step,
          }),
        );
      });
    }
  }

  const isLive = (entry: Entry | undefined): entry is Entry => entry !== undefined && (entry.e === undefined || entry.e > clock.now());

  /** Reads `key` in the transaction, then calls `then` (in it) with the live entry or undefined, and whether one expired. */
  const read = <T>({ store, step }: Tx<T>, key: string, then: (entry: Entry | undefined, expired: boolean) => void) => {
    const request = store.get(key) as IDBRequest<Entry | undefined>;
    request.onsuccess = () =>
      step(() => {
        const entry = request.result;
        if (isLive(entry)) then(entry, false);
        else then(undefined, entry !== undefined);
      });
  };

  const entryOf = (value: string, ttlMs: number | undefined): Entry => (ttlMs === undefined ? { v: value } : { v: value, e: clock.now() + ttlMs });

  /** Removes an expired entry, unless it was replaced meanwhile. Best effort: a failure is left for the next call. */
  const sweep = (key: string) => {
    transact<void>('delete (expired)', 'readwrite', (tx) => {
      read(tx, key, (_entry, expired) => {
        if (expired) tx.store.delete(key);
      });
    }).catch(() => {});
  };

  return {
    get(key) {
      return transact<string | undefined>(`get("${key}")`, 'readonly', (tx) => {
        read(tx, key, (entry, expired) => {
          tx.keep(entry?.v);
          if (expired) sweep(key);
        });
      });
    },
    set(key, value, setOptions) {
      return transact<void>(`set("${key}")`, 'readwrite', ({ store }) => {
        store.put(entryOf(value, setOptions?.ttlMs), key);
      });
    },
    delete(key) {
      return transact<void>(`delete("${key}")`, 'readwrite', ({ store }) => {
        store.delete(key);
        store.delete(keyPairKey(key));
      });
    },
    // The four below read and write in one readwrite transaction: atomic across tabs and workers (see above).
    setIfAbsent(key, value, ttlMs) {
      return transact<boolean>(`setIfAbsent("${key}")`, 'readwrite', (tx) => {
        const { store, keep } = tx;
        read(tx, key, (entry) => {
          if (entry) return keep(false);
          store.put(entryOf(value, ttlMs), key);
          keep(true);
        });
      });
    },
    deleteIfEquals(key, value) {
      return transact<boolean>(`deleteIfEquals("${key}")`, 'readwrite', (tx) => {
        const { store, keep } = tx;
        read(tx, key, (entry, expired) => {
          const equal = entry?.v === value;
          if (equal || expired) store.delete(key);
          keep(equal);
        });
      });
    },
    renewIfEquals(key, value, ttlMs) {
      return transact<boolean>(`renewIfEquals("${key}")`, 'readwrite', (tx) => {
        const { store, keep } = tx;
        read(tx, key, (entry, expired) => {
          const equal = entry?.v === value;
          if (equal) store.put(entryOf(value, ttlMs), key);
          else if (expired) store.delete(key);
          keep(equal);
        });
      });
    },
    take(key) {
      return transact<string | undefined>(`take("${key}")`, 'readwrite', (tx) => {
        const { store, keep } = tx;
        read(tx, key, (entry, expired) => {
          if (entry || expired) store.delete(key);
          keep(entry?.v);
        });
      });
    },
    getKeyPair(key) {
      return transact<CryptoKeyPairLike | undefined>(`getKeyPair("${key}")`, 'readonly', ({ store, keep, step }) => {
        const request = store.get(keyPairKey(key)) as IDBRequest<{ p?: CryptoKeyPairLike } | undefined>;
        request.onsuccess = () => step(() => keep(request.result?.p));
      });
    },
    setKeyPairIfAbsent(key, pair) {
      return transact<CryptoKeyPairLike>(`setKeyPairIfAbsent("${key}")`, 'readwrite', ({ store, keep, step }) => {
        const request = store.get(keyPairKey(key)) as IDBRequest<{ p?: CryptoKeyPairLike } | undefined>;
        request.onsuccess = () =>
          step(() => {
            const found = request.result?.p;
            if (found) return keep(found);
            // Only the two keys: nothing else on the caller's object is cloned.
            store.put({ p: { publicKey: pair.publicKey, privateKey: pair.privateKey } }, keyPairKey(key));
            keep(pair);
          });
      });
    },
  };
}
