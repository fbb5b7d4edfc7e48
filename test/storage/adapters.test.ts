import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encryptedStorage } from '../../src/services/encrypted-storage.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import { webStorage } from '../../src/services/web-storage.js';
import { fileStorage } from '../../src/storage/file.js';
import { storageContract } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'grantflow-storage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function mapStore() {
  const map = new Map<string, string>();
  return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k) };
}

storageContract('memoryStorage', () => memoryStorage());
storageContract('webStorage', () => webStorage(mapStore()));
storageContract('fileStorage', () => fileStorage(join(dir, `store-${files++}.json`)));
storageContract('encryptedStorage over memoryStorage', () => encryptedStorage(memoryStorage(), crypto.getRandomValues(new Uint8Array(32))));

describe('encryptedStorage', () => {
  it('stores no plaintext, refuses the wrong key, and a value moved to another key', async () => {
    const inner = memoryStorage();
    const key = crypto.getRandomValues(new Uint8Array(32));
    const storage = encryptedStorage(inner, key);
    await storage.set('grantflow:p:c:tokens:a', '{"accessToken":"very-secret"}');
    const sealed = (await inner.get('grantflow:p:c:tokens:a'))!;
    expect(sealed).not.toContain('very-secret');
    expect(await storage.get('grantflow:p:c:tokens:a')).toBe('{"accessToken":"very-secret"}');
    await expect(encryptedStorage(inner, crypto.getRandomValues(new Uint8Array(32))).get('grantflow:p:c:tokens:a')).rejects.toMatchObject({ code: 'storage_error' });
    await inner.set('grantflow:p:c:tokens:b', sealed);
    await expect(storage.get('grantflow:p:c:tokens:b')).rejects.toMatchObject({ code: 'storage_error' });
    await inner.set('grantflow:p:c:tokens:c', 'plaintext');
    await expect(storage.get('grantflow:p:c:tokens:c')).rejects.toMatchObject({ code: 'storage_error' });
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => encryptedStorage(memoryStorage(), new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'key' }));
  });
});

describe('fileStorage after a crashed writer', () => {
  it('a lock left by a process that is gone is taken over at once: writes neither wait nor fail', async () => {
    const { spawnSync } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const path = join(dir, `crashed-${files++}.json`);
    writeFileSync(`${path}.lock`, dead.stdout);
    const storage = fileStorage(path);
    const started = Date.now();
    await storage.set('grantflow:p:c:k', 'v');
    expect(await storage.get('grantflow:p:c:k')).toBe('v');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a lock of a live holder older than staleLockMs is taken over; a young one is waited for', async () => {
    const { writeFileSync, utimesSync } = await import('node:fs');
    const path = join(dir, `stale-${files++}.json`);
    writeFileSync(`${path}.lock`, String(process.ppid));
    const old = (Date.now() - 10_000) / 1000;
    utimesSync(`${path}.lock`, old, old);
    await fileStorage(path, { staleLockMs: 2_000 }).set('grantflow:p:c:k', 'v');
    const young = join(dir, `young-${files++}.json`);
    writeFileSync(`${young}.lock`, String(process.ppid));
    const started = Date.now();
    await fileStorage(young, { staleLockMs: 300 }).set('grantflow:p:c:k', 'v');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('of many writers that find the same stale lock, one takes it over at a time: no update is lost', async () => {
    const { writeFileSync, utimesSync, existsSync } = await import('node:fs');
    for (let round = 0; round < 5; round++) {
      const path = join(dir, `race-${files++}.json`);
      writeFileSync(`${path}.lock`, String(process.ppid));
      const old = (Date.now() - 10_000) / 1000;
      utimesSync(`${path}.lock`, old, old);
      // Separate instances, as separate processes would be: nothing shared but the files.
      await Promise.all(Array.from({ length: 20 }, (_, i) => fileStorage(path, { staleLockMs: 2_000 }).set(`grantflow:p:c:${i}`, `v${i}`)));
      const storage = fileStorage(path);
      for (let i = 0; i < 20; i++) expect(await storage.get(`grantflow:p:c:${i}`)).toBe(`v${i}`);
      expect(existsSync(`${path}.lock`)).toBe(false);
    }
  });

  it('an empty lock file (a writer that crashed between creating and filling it) is taken over once stale', async () => {
    const { writeFileSync, utimesSync } = await import('node:fs');
    const path = join(dir, `empty-${files++}.json`);
    writeFileSync(`${path}.lock`, '');
    const old = (Date.now() - 10_000) / 1000;
    utimesSync(`${path}.lock`, old, old);
    await fileStorage(path).set('grantflow:p:c:k', 'v');
    expect(await fileStorage(path).get('grantflow:p:c:k')).toBe('v');
  });
});
