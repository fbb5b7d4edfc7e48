import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OAuthError } from '../errors.js';
import type { Clock, Storage } from '../services/types.js';

export interface FileStorageOptions {
  clock?: Clock;
  /**
   * A lock file older than this is a crashed writer's and is taken over (a write holds it for a few
   * milliseconds). A lock whose writer process is gone is taken over at once. Default 2 000 ms.
   */
  staleLockMs?: number;
  /** Give up waiting for the lock after this long; longer than staleLockMs. Default 5 000 ms. */
  lockTimeoutMs?: number;
}

interface Entry {
  v: string;
  /** Expiry, epoch ms. */
  e?: number;
}

/**
 * Storage in one JSON file, for command-line tools (Node only). Every change runs under a lock
 * file (created with O_EXCL, so two processes never write at once), is written to a temporary
 * file with mode 0600 and renamed over the old one (a crash leaves the old file or the new one,
 * never half of one).
 */
/** Whether the lock file names a process of this machine that no longer runs (a crashed writer). */
async function holderIsGone(lockPath: string): Promise<boolean> {
  const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).split(' ')[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function fileStorage(path: string, options: FileStorageOptions = {}): Storage {
  const clock = options.clock ?? { now: () => Date.now() };
  const staleLockMs = options.staleLockMs ?? 2_000;
  const lockTimeoutMs = Math.max(options.lockTimeoutMs ?? 5_000, staleLockMs + 1_000);
  const lockPath = `${path}.lock`;

  async function read(): Promise<Record<string, Entry>> {
    try {
      const data = JSON.parse(await readFile(path, 'utf8')) as unknown;
      return data && typeof data === 'object' ? (data as Record<string, Entry>) : {};
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      if (error instanceof SyntaxError) throw new OAuthError('storage_error', `${path} is not valid JSON`, { cause: error });
      throw error;
    }
  }

  async function write(entries: Record<string, Entry>): Promise<void> {
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, JSON.stringify(entries), { mode: 0o600 });
    await rename(temp, path);
  }

  /**
   * Moves the lock file aside, atomically: only one caller can move a given file. Returns what it
   * held, or undefined when there was none. `keep(content)` decides whether it was the lock the
   * caller meant (the stale one it judged, or its own); if not, it is put back, where `link` fails
   * rather than overwrite a lock that someone took meanwhile.
   */
  async function moveAside(keep: (content: string) => boolean): Promise<boolean> {
    const aside = `${lockPath}.${randomBytes(6).toString('hex')}.aside`;
    try {
      await rename(lockPath, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    const content = await readFile(aside, 'utf8').catch(() => '');
    const removed = keep(content);
    if (!removed) await link(aside, lockPath).catch(() => {});
    await rm(aside, { force: true });
    return removed;
  }

  async function withLock<T>(work: () => Promise<T>): Promise<T> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const deadline = Date.now() + lockTimeoutMs;
    // The lock file holds the writer's pid (to tell a crashed writer) and a token of this hold (so
    // that a writer releases only its own lock, and a takeover removes only the lock it judged stale).
    const mine = `${process.pid} ${randomBytes(12).toString('hex')}`;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      try {
        const handle = await open(lockPath, 'wx', 0o600);
        await handle.writeFile(mine);
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const judged = await readFile(lockPath, 'utf8').catch(() => undefined);
        const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
        // Of several waiters that judge the same lock stale, one moves it aside; the others find
        // a new lock (or none) and judge again, so a fresh lock is never taken for a stale one.
        if (judged !== undefined && (age > staleLockMs || (judged !== '' && (await holderIsGone(lockPath))))) await moveAside((content) => content === judged);
        else if (Date.now() > deadline) throw new OAuthError('storage_error', `timed out waiting for the lock on ${path}`);
        else await new Promise((resolve) => setTimeout(resolve, wait + Math.random() * wait));
      }
    }
    try {
      return await work();
    } finally {
      await moveAside((content) => content === mine);
    }
  }

  const live = (entry: Entry | undefined) => (entry && (entry.e === undefined || entry.e > clock.now()) ? entry : undefined);

  /** Reads, changes and writes back under the lock, dropping expired entries on the way. */
  const update = <T>(change: (entries: Record<string, Entry>) => T) =>
    withLock(async () => {
      const entries = await read();
      for (const [key, entry] of Object.entries(entries)) if (!live(entry)) delete entries[key];
      const result = change(entries);
      await write(entries);
      return result;
    });

  return {
    async get(key) {
      return live((await read())[key])?.v;
    },
    async set(key, value, setOptions) {
      await update((entries) => {
        entries[key] = setOptions?.ttlMs === undefined ? { v: value } : { v: value, e: clock.now() + setOptions.ttlMs };
      });
    },
    async delete(key) {
      await update((entries) => {
        delete entries[key];
      });
    },
    setIfAbsent(key, value, ttlMs) {
      return update((entries) => {
        if (live(entries[key])) return false;
        entries[key] = { v: value, e: clock.now() + ttlMs };
        return true;
      });
    },
    deleteIfEquals(key, value) {
      return update((entries) => {
        if (live(entries[key])?.v !== value) return false;
        delete entries[key];
        return true;
      });
    },
    renewIfEquals(key, value, ttlMs) {
      return update((entries) => {
        if (live(entries[key])?.v !== value) return false;
        entries[key] = { v: value, e: clock.now() + ttlMs };
        return true;
      });
    },
    take(key) {
      return update((entries) => {
        const value = live(entries[key])?.v;
        delete entries[key];
        return value;
      });
    },
  };
}
