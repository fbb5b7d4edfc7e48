import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFetch } from '../../src/cli/serve-fetch.js';
import { refreshLockKey, tokensKey } from '../../src/grants/storage-keys.js';
import { createOAuthClient } from '../../src/index.js';
import { pathOfExile } from '../../src/providers/index.js';
import { redisStorage } from '../../src/storage/redis.js';
import { fakePathOfExile, rebaseProvider } from '../../src/testing/index.js';
import { fileStorage } from '../../src/storage/file.js';
import { redisSkipReason, startRedisServer, type RedisServer } from '../support/redis-server.js';

/** Runs a fixture in its own Node process (TypeScript through tsx); resolves with its stdout lines. */
function runChild(fixture: string, env: Record<string, string>, onLine?: (line: string) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', fixture)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      lines.push(line);
      onLine?.(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<string[]>((resolve, reject) =>
    child.once('exit', (code, signal) => (code === 0 ? resolve(lines) : reject(new Error(`${fixture} exited ${code ?? signal}: ${stderr.slice(-2000)}`)))),
  );
  return { child, done };
}

describe('fileStorage across processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grantflow-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('three processes writing at once lose no update; the file stays valid JSON with mode 0600', async () => {
    const file = join(dir, 'shared.json');
    await Promise.all(['a', 'b', 'c'].map((prefix) => runChild('file-writer.ts', { FILE: file, PREFIX: prefix, COUNT: '40' }).done));
    const storage = fileStorage(file);
    for (const prefix of ['a', 'b', 'c']) for (let i = 0; i < 40; i++) expect(await storage.get(`${prefix}:${i}`)).toBe(`value-${i}`);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')))).toHaveLength(120);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe.skipIf(!!redisSkipReason)(`single-flight refresh across processes sharing Redis${redisSkipReason ? ` (skipped: ${redisSkipReason})` : ''}`, () => {
  let server: RedisServer;
  let redis: ReturnType<typeof createClient>;
  let fake: ReturnType<typeof fakePathOfExile>;
  let served: { origin: string; close(): Promise<void> };

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createClient({ url: server.url });
    await redis.connect();
    fake = fakePathOfExile({ clients: [{ clientId: 'poe-tool', redirectUris: ['http://127.0.0.1:8080/callback'] }] });
    served = await serveFetch((request) => fake.fetch(request));
  });
  afterAll(async () => {
    await redis?.quit();
    await served?.close();
    await server?.stop();
  });

  /** Signs in through the fake, then makes the stored access token expired, as time would. */
  async function signInExpired() {
    await redis.flushAll();
    const client = createOAuthClient({
      provider: rebaseProvider(pathOfExile, served.origin),
      clientId: 'poe-tool',
      redirectUri: 'http://127.0.0.1:8080/callback',
      userAgent: 'OAuth poe-tool/1.0.0 (contact: dev@example.com)',
      storage: redisStorage(redis),
    });
    const { url } = await client.startAuthorization({ scopes: ['account:profile'] });
    const tokens = await client.completeAuthorization(await fake.approve(url));
    await redis.set(tokensKey('path-of-exile', 'poe-tool'), JSON.stringify({ ...tokens, expiresAt: Date.now() - 1000 }));
    return tokens;
  }
  const refreshes = () => fake.requests.filter((r) => r.body.grant_type === 'refresh_token').length;

  it('4 processes × 250 concurrent getAccessToken on an expired token → exactly 1 refresh request', async () => {
    const before = refreshes();
    const first = await signInExpired();
    const outputs = await Promise.all(Array.from({ length: 4 }, () => runChild('refresh-child.ts', { REDIS_URL: server.url, ORIGIN: served.origin, CALLS: '250' }).done));
    expect(refreshes() - before).toBe(1);
    const seen = new Set(outputs.flatMap((lines) => JSON.parse(lines.at(-1)!) as string[]));
    expect(seen.size).toBe(1);
    expect(seen.has(first.accessToken)).toBe(false);
  }, 60_000);

  it('the lock is a lease across processes: a slow holder keeps it; once killed, the next caller refreshes within the TTL', async () => {
    await signInExpired();
    const before = refreshes();
    fake.failNext('timeout'); // the holder's refresh request never gets an answer
    const lock = refreshLockKey('path-of-exile', 'poe-tool');
    const holder = runChild('refresh-child.ts', { REDIS_URL: server.url, ORIGIN: served.origin, CALLS: '1', LOCK_TTL_MS: '1500', TIMEOUT_MS: '60000' });
    holder.done.catch(() => {});
    for (let i = 0; i < 200 && !(await redis.get(lock)); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    for (let i = 0; i < 200 && refreshes() === before; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(await redis.get(lock)).toBeTruthy();
    // A lease: the holder is slow (its request hangs) but alive, and renews the 1.5 s lock past twice its TTL.
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    expect(await redis.get(lock)).toBeTruthy();
    expect(refreshes() - before).toBe(1);
    holder.child.kill('SIGKILL');
    const lockTtl = await redis.pTTL(lock);
    expect(lockTtl).toBeGreaterThan(0);
    const next = createOAuthClient({
      provider: rebaseProvider(pathOfExile, served.origin),
      clientId: 'poe-tool',
      userAgent: 'OAuth poe-tool/1.0.0 (contact: dev@example.com)',
      storage: redisStorage(redis),
      lock: { pollIntervalMs: 20 },
    });
    const started = Date.now();
    const tokens = await next.getAccessToken();
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(lockTtl - 100);
    // Once the holder is dead, the lock frees itself within its TTL (no longer the 30 s of a fixed lock).
    expect(waited).toBeLessThan(1_500 + 1_000);
    expect(tokens.expiresAt).toBeGreaterThan(Date.now());
    expect(refreshes() - before).toBe(2); // the dead holder's unanswered one, and the next caller's
  }, 60_000);
});
