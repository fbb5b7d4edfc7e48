import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { redisStorage } from '../../src/storage/redis.js';
import { redisSkipReason, startRedisServer, type RedisServer } from '../support/redis-server.js';
import { storageContract } from './contract.js';

// In CI a missing redis-server is a failure, not a skip: .ci/run installs it.
if (redisSkipReason && process.env.CI) throw new Error(`Redis suite cannot run in CI: ${redisSkipReason}`);
if (redisSkipReason) console.warn(`[grantflow] Redis suite skipped: ${redisSkipReason}`);

describe.skipIf(!!redisSkipReason)(`redisStorage on a real redis-server${redisSkipReason ? ` (skipped: ${redisSkipReason})` : ''}`, () => {
  let server: RedisServer;
  const clients: Array<{ quit(): Promise<unknown> }> = [];
  let prefixes = 0;

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const client of clients) await client.quit().catch(() => {});
    await server?.stop();
  });

  const connect = async () => {
    const client = createClient({ url: server.url });
    clients.push(client);
    await client.connect();
    return client;
  };

  storageContract('redisStorage', async () => redisStorage(await connect(), { prefix: `test${prefixes++}:` }));

  it('stores a pending flow with a PX expiry, and the lock with SET NX PX', async () => {
    const client = await connect();
    const storage = redisStorage(client, { prefix: 'px:' });
    await storage.set('grantflow:p:c:flow:s', 'v', { ttlMs: 600_000 });
    const ttl = await client.pTTL('px:grantflow:p:c:flow:s');
    expect(ttl).toBeGreaterThan(590_000);
    await storage.setIfAbsent!('grantflow:p:c:tokens:default:lock', 'holder', 5000);
    expect(await client.pTTL('px:grantflow:p:c:tokens:default:lock')).toBeGreaterThan(4000);
    await storage.set('grantflow:p:c:tokens:default', 'no-expiry');
    expect(await client.pTTL('px:grantflow:p:c:tokens:default')).toBe(-1);
  });
});
