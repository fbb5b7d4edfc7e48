import type { Clock, Storage } from './types.js';

/** The part of the Web Storage API we use (sessionStorage, localStorage). */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * The part of the Web Locks API we use (`navigator.locks`): an exclusive lock per name, shared by
 * every tab and worker of the origin, freed by the browser when its holder's tab closes.
 */
export interface LockManagerLike {
  request<T>(name: string, options: { ifAvailable?: boolean; steal?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => T | Promise<T>): Promise<T>;
}

export interface WebStorageOptions {
  clock?: Clock;
  prefix?: string;
  /**
   * Makes the refresh lock and the claim of a pending flow atomic across the tabs of the origin.
   * Default `navigator.locks` where there is one; `false`: atomic within one tab only.
   */
  locks?: LockManagerLike | false;
}

interface Entry {
  v: string;
  e?: number;
}

/** A lock this storage holds: its value, and the function that frees the Web Lock. */
interface Held {
  value: string;
  release: () => void;
  /** Resolves when the hold ends: released, or stolen. */
  done: Promise<void>;
}

/**
 * How long a lock just granted waits for the previous holder's entry to leave this tab's view of
 * the storage. Chromium brings another tab's localStorage writes over asynchronously; under load
 * that took more than 100 ms (the old value), and a tab that went on with its stale view sent the
 * refresh token the previous holder had just rotated: invalid_grant, the user logged out (5 tabs
 * × 20 rounds on a loaded 2-core machine, 2 runs in 4). The wait ends as soon as the entry goes, so
 * it costs nothing then; only after a holder's tab closed mid-hold (its entry stays) is it paid.
 */
const SETTLE_MS = 1_000;
/** The longest take() waits for the claim lock of a key. */
const TAKE_WAIT_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Real time, whatever the injected clock says (a fixed test clock cannot make a wait endless). */
const realNow = (): number => globalThis.performance?.now() ?? Date.now();

/**
 * sessionStorage or localStorage as grantflow storage. Web Storage has no expiry, so values are
 * wrapped with their expiry time and dropped when read late.
 *
 * With Web Locks (`navigator.locks`), setIfAbsent / renewIfEquals / deleteIfEquals / take are
 * atomic across tabs: the lock is a Web Lock named `grantflow:` + key, held from setIfAbsent to
 * deleteIfEquals, with the TTL'd entry beside it so other tabs see its holder and its lease. A tab
 * that closes frees its lock at once; one that hangs (stops renewing) is taken over once its
 * lease has run out, by one tab. Without Web Locks, each operation is atomic within one tab only.
 */
export function webStorage(store: WebStorageLike, options: WebStorageOptions = {}): Storage {
  const clock = options.clock ?? { now: () => Date.now() };
  const prefix = options.prefix ?? '';
  const locks = options.locks === undefined ? (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks : options.locks || undefined;
  const raw = (key: string): Entry | undefined => {
    const text = store.getItem(prefix + key);
    if (text === null) return undefined;
    try {
      return JSON.parse(text) as Entry;
    } catch {
      return undefined;
    }
  };
  const live = (entry: Entry | undefined) => entry !== undefined && (entry.e === undefined || entry.e > clock.now());
  const read = (key: string): Entry | undefined => {
    const entry = raw(key);
    if (entry && !live(entry)) store.removeItem(prefix + key);
    return live(entry) ? entry : undefined;
  };
  const write = (key: string, value: string, ttlMs?: number) =>
    store.setItem(prefix + key, JSON.stringify(ttlMs === undefined ? { v: value } : { v: value, e: clock.now() + ttlMs }));

  const storage: Storage = {
    async get(key) {
      return read(key)?.v;
    },
    async set(key, value, setOptions) {
      write(key, value, setOptions?.ttlMs);
    },
    async delete(key) {
      store.removeItem(prefix + key);
    },
    // One tab runs one script at a time, so read-then-write is atomic within it.
    async setIfAbsent(key, value, ttlMs) {
      if (read(key)) return false;
      write(key, value, ttlMs);
      return true;
    },
    async deleteIfEquals(key, value) {
      if (read(key)?.v !== value) return false;
      store.removeItem(prefix + key);
      return true;
    },
    async renewIfEquals(key, value, ttlMs) {
      if (read(key)?.v !== value) return false;
      write(key, value, ttlMs);
      return true;
    },
    async take(key) {
      const entry = read(key);
      store.removeItem(prefix + key);
      return entry?.v;
    },
  };
  if (!locks) return storage;

  const lockName = (key: string) => `grantflow:${prefix}${key}`;
  /** The locks this storage (this tab) holds, by key. */
  const held = new Map<string, Held>();
  /** Since when this tab has seen a lock held without its entry (cleared storage): a lease of its own. */
  const missingSince = new Map<string, number>();

  /**
   * Requests the Web Lock and, once granted, keeps it until released (or stolen) and writes the
   * entry. Resolves true when granted, false when `ifAvailable` found it held (or it was stolen
   * before it was ready).
   */
  const hold = (key: string, value: string, ttlMs: number, how: { ifAvailable: true } | { steal: true }) =>
    new Promise<boolean>((resolve, reject) => {
      let mine: Held | undefined;
      let stolen = false;
      let end = () => {};
      locks
        .request(lockName(key), how, async (lock) => {
          if (!lock) return resolve(false);
          // The previous holder removed its entry before it let go: until this tab sees that, its
          // view of the storage is behind (the tokens the holder stored may not show yet). A tab
          // that closed left its entry: it is taken over after SETTLE_MS.
          const deadline = realNow() + SETTLE_MS;
          for (let seen = raw(key); 'ifAvailable' in how && seen && live(seen) && seen.v !== value && realNow() < deadline; seen = raw(key)) await sleep(5);
          // Stolen while it waited: the entry is the new holder's now.
          if (stolen) return;
          const done = new Promise<void>((resolveDone) => (end = resolveDone));
          write(key, value, ttlMs);
          mine = { value, release: end, done };
          held.set(key, mine);
          missingSince.delete(key);
          resolve(true);
          await done;
        })
        .catch((error: unknown) => {
          // Stolen (AbortError) by a tab that found this lease run out: this tab holds it no longer.
          stolen = true;
          if (mine && held.get(key) === mine) held.delete(key);
          end();
          if ((error as { name?: string } | null)?.name === 'AbortError') resolve(false);
          else reject(error);
        });
    });

  /**
   * The holder's lease ran out (it hangs, or it is frozen): steal its lock, one tab only. The
   * takeover is itself a lock, named after the lease taken over and kept as long as the lock, so
   * a tab that sees the same expired lease later (its view of the storage a little behind) does
   * not steal it a second time.
   */
  const takeOver = (key: string, expired: string, value: string, ttlMs: number) =>
    new Promise<boolean>((resolve, reject) => {
      locks
        .request(`${lockName(key)}:takeover:${expired}`, { ifAvailable: true }, async (lock) => {
          const entry = raw(key);
          if (!lock || (entry ? live(entry) || entry.v !== expired : expired !== '')) return resolve(false);
          const ours = await hold(key, value, ttlMs, { steal: true });
          resolve(ours);
          if (ours) await held.get(key)?.done;
        })
        .catch(reject);
    });

  storage.setIfAbsent = async (key, value, ttlMs) => {
    if (await hold(key, value, ttlMs, { ifAvailable: true })) return true;
    const entry = raw(key);
    if (entry) {
      missingSince.delete(key);
      return live(entry) ? false : takeOver(key, entry.v, value, ttlMs);
    }
    // Held, without an entry: its holder is writing it, or the storage was cleared under it.
    const since = missingSince.get(key) ?? clock.now();
    missingSince.set(key, since);
    return clock.now() - since < ttlMs ? false : takeOver(key, '', value, ttlMs);
  };
  // Only while this tab holds the lock, and the lease has not run out: a lock taken over is lost.
  storage.renewIfEquals = async (key, value, ttlMs) => {
    const entry = raw(key);
    if (held.get(key)?.value !== value || !live(entry) || entry!.v !== value) return false;
    write(key, value, ttlMs);
    return true;
  };
  storage.deleteIfEquals = async (key, value) => {
    const mine = held.get(key);
    if (mine?.value !== value) return false;
    // The entry first, then the Web Lock: the next holder waits until it sees the entry gone.
    if (raw(key)?.v === value) store.removeItem(prefix + key);
    held.delete(key);
    mine.release();
    return true;
  };
  // Read and remove under the key's Web Lock (bounded: a tab that hangs holding it fails the claim).
  storage.take = (key) =>
    locks.request(lockName(key), typeof AbortSignal.timeout === 'function' ? { signal: AbortSignal.timeout(TAKE_WAIT_MS) } : {}, () => {
      const entry = read(key);
      store.removeItem(prefix + key);
      return entry?.v;
    });
  return storage;
}
