import { describe, expect, it } from 'vitest';
import type { Storage } from '../../src/services/types.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What every storage adapter must do; each adapter's test file runs it. */
export function storageContract(name: string, make: () => Storage | Promise<Storage>) {
  describe(`${name}: storage contract`, () => {
    it('get/set/overwrite/delete; a missing key is undefined', async () => {
      const storage = await make();
      expect(await storage.get('grantflow:t:c:missing')).toBeUndefined();
      await storage.set('grantflow:t:c:a', 'one');
      expect(await storage.get('grantflow:t:c:a')).toBe('one');
      await storage.set('grantflow:t:c:a', 'two');
      expect(await storage.get('grantflow:t:c:a')).toBe('two');
      await storage.delete('grantflow:t:c:a');
      expect(await storage.get('grantflow:t:c:a')).toBeUndefined();
      await storage.delete('grantflow:t:c:never-set');
    });

    it('keeps values byte for byte (JSON, unicode, 100 KB)', async () => {
      const storage = await make();
      const value = JSON.stringify({ s: 'ünïcødé ✓ "quoted" \\ \n', big: 'x'.repeat(100_000) });
      await storage.set('grantflow:t:c:json', value);
      expect(await storage.get('grantflow:t:c:json')).toBe(value);
    });

    it('a value with a ttl disappears after it', async () => {
      const storage = await make();
      await storage.set('grantflow:t:c:ttl', 'v', { ttlMs: 60 });
      expect(await storage.get('grantflow:t:c:ttl')).toBe('v');
      await sleep(120);
      expect(await storage.get('grantflow:t:c:ttl')).toBeUndefined();
    });

    it('setIfAbsent sets once, and again after the ttl; of 50 concurrent callers exactly one wins', async () => {
      const storage = await make();
      expect(storage.setIfAbsent).toBeTypeOf('function');
      // A TTL long enough that a loaded machine (2 cores, the whole suite) cannot let it lapse between two calls.
      expect(await storage.setIfAbsent!('grantflow:t:c:lock', 'a', 400)).toBe(true);
      expect(await storage.setIfAbsent!('grantflow:t:c:lock', 'b', 400)).toBe(false);
      expect(await storage.get('grantflow:t:c:lock')).toBe('a');
      await sleep(600);
      expect(await storage.setIfAbsent!('grantflow:t:c:lock', 'c', 60_000)).toBe(true);
      const wins = await Promise.all(Array.from({ length: 50 }, (_, i) => storage.setIfAbsent!('grantflow:t:c:race', `v${i}`, 60_000)));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it('take reads and deletes at once: of 50 concurrent callers exactly one gets the value', async () => {
      const storage = await make();
      expect(storage.take).toBeTypeOf('function');
      await storage.set('grantflow:t:c:flow', 'pending');
      const taken = await Promise.all(Array.from({ length: 50 }, () => storage.take!('grantflow:t:c:flow')));
      expect(taken.filter((value) => value === 'pending')).toHaveLength(1);
      expect(taken.filter((value) => value === undefined)).toHaveLength(49);
      expect(await storage.get('grantflow:t:c:flow')).toBeUndefined();
      expect(await storage.take!('grantflow:t:c:absent')).toBeUndefined();
      await storage.set('grantflow:t:c:late', 'v', { ttlMs: 50 });
      await sleep(150);
      expect(await storage.take!('grantflow:t:c:late')).toBeUndefined();
    });

    it('renewIfEquals extends a lock for its holder only', async () => {
      const storage = await make();
      expect(storage.renewIfEquals).toBeTypeOf('function');
      await storage.setIfAbsent!('grantflow:t:c:lease', 'mine', 300);
      expect(await storage.renewIfEquals!('grantflow:t:c:lease', 'theirs', 60_000)).toBe(false);
      expect(await storage.renewIfEquals!('grantflow:t:c:lease', 'mine', 60_000)).toBe(true);
      await sleep(500);
      expect(await storage.get('grantflow:t:c:lease')).toBe('mine');
      expect(await storage.renewIfEquals!('grantflow:t:c:absent', 'mine', 60_000)).toBe(false);
      await storage.setIfAbsent!('grantflow:t:c:short', 'mine', 300);
      await sleep(500);
      expect(await storage.renewIfEquals!('grantflow:t:c:short', 'mine', 60_000)).toBe(false);
    });

    it('deleteIfEquals releases a lock for its holder only', async () => {
      const storage = await make();
      expect(storage.deleteIfEquals).toBeTypeOf('function');
      await storage.setIfAbsent!('grantflow:t:c:held', 'mine', 60_000);
      expect(await storage.deleteIfEquals!('grantflow:t:c:held', 'theirs')).toBe(false);
      expect(await storage.get('grantflow:t:c:held')).toBe('mine');
      expect(await storage.deleteIfEquals!('grantflow:t:c:held', 'mine')).toBe(true);
      expect(await storage.get('grantflow:t:c:held')).toBeUndefined();
    });
  });
}
