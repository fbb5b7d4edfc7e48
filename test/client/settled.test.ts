import { createActor, waitFor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { authorizationCodeMachine, clientCredentialsMachine, provideServices, refreshTokenMachine } from '../../machines/index.js';
import { createOAuthClient, memoryStorage, OAuthError } from '../../src/index.js';
import { refreshLockKey } from '../../src/grants/storage-keys.js';
import { pathOfExile } from '../../src/providers/index.js';
import { fakePathOfExile } from '../../src/testing/index.js';

const redirectUri = 'http://127.0.0.1:8080/callback';
const userAgent = 'OAuth poe-tool/1.0.0 (contact: dev@example.com)';
const serverAgent = 'OAuth poe-server/1.0.0 (contact: dev@example.com)';

/**
 * Runs `call` with the global timer functions watched, and returns the timers it started that
 * neither fired nor were cleared once it has settled (and one macrotask more, for the microtasks
 * it queued): timers that outlive the call. Vitest's own timers are not counted.
 */
async function outliving(call: () => Promise<unknown>): Promise<string[]> {
  const open = new Map<unknown, string>();
  const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, setInterval: globalThis.setInterval, clearInterval: globalThis.clearInterval };
  const g = globalThis as unknown as Record<string, unknown>;
  g.setTimeout = (fn: () => void, ms?: number, ...args: unknown[]) => {
    const handle = real.setTimeout(() => (open.delete(handle), fn(...(args as []))), ms);
    open.set(handle, `setTimeout(${ms})`);
    return handle;
  };
  g.setInterval = (fn: () => void, ms?: number, ...args: unknown[]) => {
    const handle = real.setInterval(() => fn(...(args as [])), ms);
    open.set(handle, `setInterval(${ms})`);
    return handle;
  };
  g.clearTimeout = (handle: never) => (open.delete(handle), real.clearTimeout(handle));
  g.clearInterval = (handle: never) => (open.delete(handle), real.clearInterval(handle));
  try {
    await call().catch((error: unknown) => {
      if (!(error instanceof OAuthError)) throw error;
    });
    await new Promise((resolve) => real.setTimeout(resolve, 0));
  } finally {
    Object.assign(globalThis, real);
  }
  return [...open.values()];
}

async function leavesNothing(call: () => Promise<unknown>) {
  expect(await outliving(call)).toEqual([]);
}

function setup() {
  const fake = fakePathOfExile({
    clients: [{ clientId: 'poe-tool', redirectUris: [redirectUri] }, { clientId: 'poe-server', redirectUris: [], clientSecret: 'server-secret' }],
    accessTokenTtlSeconds: 3600,
  });
  const storage = memoryStorage();
  const client = createOAuthClient({ provider: pathOfExile, clientId: 'poe-tool', redirectUri, userAgent, http: fake.fetch, storage, retry: { baseDelayMs: 1, maxDelayMs: 2 }, lock: { ttlMs: 200, pollIntervalMs: 5, maxWaitMs: 50 } });
  return { fake, storage, client };
}

describe('no timer or handle outlives a settled call', () => {
  it('the watch itself sees a timer left behind, and not one that fired or was cleared', async () => {
    expect(await outliving(async () => void setTimeout(() => {}, 60_000))).toEqual(['setTimeout(60000)']);
    expect(await outliving(async () => void setInterval(() => {}, 60_000))).toEqual(['setInterval(60000)']);
    expect(await outliving(async () => clearTimeout(setTimeout(() => {}, 60_000)))).toEqual([]);
    expect(await outliving(() => new Promise((resolve) => setTimeout(resolve, 1)))).toEqual([]);
  });

  it('the code flow, a refresh, getAccessToken, a replayed callback, a lock_timeout and client credentials', async () => {
    const { fake, storage, client } = setup();
    let callbackUrl = '';
    await leavesNothing(async () => {
      const { url } = await client.startAuthorization({ scopes: ['account:profile'] });
      callbackUrl = await fake.approve(url);
    });
    await leavesNothing(() => client.completeAuthorization(callbackUrl));
    await leavesNothing(() => client.completeAuthorization(callbackUrl)); // flow_not_found
    await leavesNothing(() => client.refresh()); // holds and releases a lease
    await leavesNothing(() => client.getAccessToken());
    expect(await client.getStoredTokens()).toMatchObject({ tokenType: expect.any(String) });
    await storage.setIfAbsent!(refreshLockKey('path-of-exile', 'poe-tool'), 'someone-else', 60_000);
    await expect(client.refresh()).rejects.toMatchObject({ code: 'lock_timeout' });
    await leavesNothing(() => client.refresh());
    const server = createOAuthClient({ provider: pathOfExile, clientId: 'poe-server', clientSecret: 'server-secret', userAgent: serverAgent, http: fake.fetch, storage: memoryStorage() });
    await leavesNothing(() => server.clientCredentials({ scopes: ['service:leagues'] }));
    await leavesNothing(() => server.clientCredentials({ scopes: ['service:psapi'] })); // refused by the fake
  });

  it('a stopped actor leaves nothing running: the code grant while awaiting its callback (the code lifetime timer)', async () => {
    await leavesNothing(async () => {
      const actor = createActor(provideServices(authorizationCodeMachine), { input: { provider: pathOfExile, client: { clientId: 'poe-tool', redirectUri, userAgent } } }).start();
      await waitFor(actor, (s) => s.matches('awaitingCallback'));
      actor.stop();
    });
  });

  it('a stopped actor leaves nothing running: refresh and client credentials waiting to retry or polling a lock', async () => {
    const { storage } = setup();
    const failing = (async () => new Response('', { status: 429 })) as typeof fetch;
    await leavesNothing(async () => {
      const machine = provideServices(clientCredentialsMachine, { http: failing, retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 }, secrets: { clientSecret: 'server-secret' } });
      const actor = createActor(machine, { input: { provider: pathOfExile, client: { clientId: 'poe-server', userAgent: serverAgent }, scopes: ['service:leagues'] } }).start();
      await waitFor(actor, (s) => JSON.stringify(s.value).includes('waitingToRetry'));
      actor.stop();
    });
    await storage.setIfAbsent!(refreshLockKey('path-of-exile', 'poe-tool'), 'someone-else', 60_000);
    await leavesNothing(async () => {
      const actor = createActor(provideServices(refreshTokenMachine, { storage }), { input: { provider: pathOfExile, client: { clientId: 'poe-tool', redirectUri, userAgent } } }).start();
      await waitFor(actor, (s) => s.matches('awaitingLock'));
      actor.stop();
    });
  });
});
