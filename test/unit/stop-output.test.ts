import { createActor, toPromise, waitFor, type AnyActorRef } from 'xstate';
import { describe, expect, it } from 'vitest';
import { authorizationCodeMachine, clientAssertionMachine, clientCredentialsMachine, provideServices, refreshTokenMachine } from '../../machines/index.js';
import { memoryStorage, type Storage } from '../../src/index.js';
import { genericOAuth2, poems } from '../../src/providers/index.js';

const provider = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/a', tokenEndpoint: 'https://as.example/t' });
const client = { clientId: 'app', redirectUri: 'https://app.example/cb' };

/** An HTTP service that never answers, until the request is aborted. */
const silent = (): typeof fetch => (_url, init) =>
  new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));

async function stoppedWhileWaiting(actor: AnyActorRef, waiting: (value: unknown) => boolean) {
  await waitFor(actor, (s) => waiting(s.value));
  const output = toPromise(actor);
  actor.stop();
  return output;
}

const stored = async () => {
  const storage = memoryStorage();
  await storage.set('grantflow:as:app:tokens:default', JSON.stringify({ accessToken: 'old', tokenType: 'bearer', refreshToken: 'r1', expiresAt: 0, extra: {} }));
  return storage;
};

describe('a stopped actor ends cancelled under plain xstate createActor and toPromise', () => {
  it('the code grant, stopped in awaitingCallback', async () => {
    const actor = createActor(provideServices(authorizationCodeMachine), { input: { provider, client } }).start();
    expect(await stoppedWhileWaiting(actor, (v) => v === 'awaitingCallback')).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
  });

  it('the refresh grant, stopped while its request is in flight', async () => {
    const machine = provideServices(refreshTokenMachine, { http: silent(), storage: await stored() });
    const actor = createActor(machine, { input: { provider, client } }).start();
    expect(await stoppedWhileWaiting(actor, (v) => JSON.stringify(v).includes('refreshing'))).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
  });

  it('client credentials, stopped while requesting, releases its lock at once; and after a further .provide()', async () => {
    const inner = memoryStorage();
    const locks: string[] = [];
    const storage: Storage = { ...inner, setIfAbsent: (key, value, ttlMs) => (locks.push(key), inner.setIfAbsent!(key, value, ttlMs)) };
    const machine = provideServices(clientCredentialsMachine, { http: silent(), storage, secrets: { clientSecret: 's' }, lock: { ttlMs: 60_000 } });
    for (const m of [machine, machine.provide({})]) {
      const actor = createActor(m, { input: { provider, client, scopes: [] } }).start();
      expect(await stoppedWhileWaiting(actor, (v) => JSON.stringify(v).includes('requesting'))).toMatchObject({ status: 'cancelled' });
      expect(await inner.get(locks.at(-1)!)).toBeUndefined(); // not left to its TTL
    }
    expect(locks).toHaveLength(2);
  });

  it('the assertion grant, stopped while requesting', async () => {
    const { generateKeyPair } = await import('jose');
    const { privateKey } = await generateKeyPair('RS256');
    const machine = provideServices(clientAssertionMachine, { http: silent(), secrets: { privateKey } });
    const actor = createActor(machine, { input: { provider: poems, client: { clientId: 'poems-app' } } }).start();
    expect(await stoppedWhileWaiting(actor, (v) => JSON.stringify(v).includes('requesting'))).toMatchObject({ status: 'cancelled' });
  });

  it('only a stop gives the cancelled output: a running actor has none, and a machine wrapped twice is wrapped once', async () => {
    const machine = provideServices(authorizationCodeMachine);
    const actor = createActor(machine, { input: { provider, client } }).start();
    await waitFor(actor, (s) => s.matches('awaitingCallback'));
    expect(actor.getSnapshot().output).toBeUndefined();
    const { cancelledOnStop } = await import('../../src/grants/stop-output.js');
    expect(cancelledOnStop(machine)).toBe(machine);
    actor.stop();
    expect(actor.getSnapshot().output).toMatchObject({ status: 'cancelled', error: { message: 'the actor was stopped before it finished' } });
  });

  it('an actor that already finished keeps its output when stopped afterwards', async () => {
    const actor = createActor(provideServices(refreshTokenMachine, { storage: memoryStorage() }), { input: { provider, client } }).start();
    const output = await toPromise(actor);
    actor.stop();
    expect(output).toMatchObject({ status: 'failed' });
    expect(actor.getSnapshot().output).toBe(output);
  });

  it('an actor stopped before it started has no output to give (xstate never runs it)', () => {
    const actor = createActor(provideServices(authorizationCodeMachine), { input: { provider, client } });
    actor.stop();
    expect(actor.getSnapshot().output).toBeUndefined();
  });
});
