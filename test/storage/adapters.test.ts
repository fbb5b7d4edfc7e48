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
