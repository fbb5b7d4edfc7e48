import { createActor, toPromise, waitFor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { provideServices, tokenSessionMachine } from '../../machines/index.js';
import { createOAuthClient, memoryStorage } from '../../src/index.js';
import { pathOfExile, poe } from '../../src/providers/index.js';
import { fakePathOfExile, fakePoe } from '../../src/testing/index.js';

const redirectUri = 'http://127.0.0.1:8080/callback';
const client = { clientId: 'poe-tool', redirectUri, userAgent: 'OAuth poe-tool/1.0.0 (contact: dev@example.com)' };

async function signedIn(ttlSeconds: number) {
  const fake = fakePathOfExile({ clients: [{ clientId: 'poe-tool', redirectUris: [redirectUri] }], accessTokenTtlSeconds: ttlSeconds });
  const storage = memoryStorage();
  const app = createOAuthClient({ provider: pathOfExile, ...client, http: fake.fetch, storage });
  const { url } = await app.startAuthorization({ scopes: ['account:profile'] });
  const first = await app.completeAuthorization(await fake.approve(url));
  const machine = provideServices(tokenSessionMachine, { http: fake.fetch, storage, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
  const refreshes = () => fake.requests.filter((r) => r.body.grant_type === 'refresh_token').length;
  return { fake, storage, first, machine, refreshes };
}

describe('tokenSessionMachine', () => {
  it('refreshes before expiry, again after rotation, and stops cleanly', async () => {
    // 2 s tokens, refreshed 1.9 s before expiry: a refresh about every 100 ms.
    const { first, machine, refreshes } = await signedIn(2);
    const actor = createActor(machine, { input: { provider: pathOfExile, client, refreshWindowMs: 1900 } }).start();
    const loaded = await waitFor(actor, (s) => s.matches('active'));
    expect(loaded.context.tokens?.accessToken).toBe(first.accessToken);
    const second = await waitFor(actor, (s) => s.matches('active') && s.context.tokens?.accessToken !== first.accessToken, { timeout: 3000 });
    const secondToken = second.context.tokens!.accessToken;
    await waitFor(actor, (s) => s.matches('active') && s.context.tokens?.accessToken !== secondToken, { timeout: 3000 });
    expect(refreshes()).toBeGreaterThanOrEqual(2);
    actor.send({ type: 'stop' });
    expect(await toPromise(actor)).toMatchObject({ status: 'cancelled' });
    const after = refreshes();
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(refreshes()).toBe(after);
  });

  it('waits while the token is far from expiry; `refresh` forces one', async () => {
    const { first, machine, refreshes } = await signedIn(3600);
    const actor = createActor(machine, { input: { provider: pathOfExile, client } }).start();
    await waitFor(actor, (s) => s.matches('active'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(refreshes()).toBe(0);
    actor.send({ type: 'refresh' });
    await waitFor(actor, (s) => s.matches('active') && s.context.tokens?.accessToken !== first.accessToken);
    expect(refreshes()).toBe(1);
    actor.stop();
  });

  it('a provider without a refresh grant (Poe: its api_key never expires) is refused at once, naming the field', async () => {
    const fake = fakePoe({ clients: [{ clientId: 'app', redirectUris: [redirectUri] }] });
    const storage = memoryStorage();
    const app = createOAuthClient({ provider: poe, clientId: 'app', redirectUri, http: fake.fetch, storage });
    const { url } = await app.startAuthorization();
    await app.completeAuthorization(await fake.approve(url, { apiKeyExpiresIn: null }));
    const actor = createActor(provideServices(tokenSessionMachine, { http: fake.fetch, storage }), {
      input: { provider: poe, client: { clientId: 'app', redirectUri } },
    });
    // Poe has no refresh grant: the session refuses to start, saying so.
    const output = await toPromise(actor.start());
    expect(output).toMatchObject({ status: 'failed', error: { code: 'invalid_configuration', field: 'provider.grants.refresh_token' } });
  });

  it('nothing stored → failed with reauthorization_required', async () => {
    const { machine } = await signedIn(3600);
    const output = await toPromise(createActor(machine, { input: { provider: pathOfExile, client, key: 'someone-else' } }).start());
    expect(output).toMatchObject({ status: 'failed', error: { code: 'reauthorization_required' } });
  });

  it('a refused refresh token ends the session with reauthorization_required', async () => {
    const { machine, storage, first } = await signedIn(3600);
    const actor = createActor(machine, { input: { provider: pathOfExile, client } }).start();
    await waitFor(actor, (s) => s.matches('active'));
    // Burn the stored refresh token behind the session's back: rotate it, then put the old set back.
    actor.send({ type: 'refresh' });
    await waitFor(actor, (s) => s.matches('active') && s.context.tokens?.accessToken !== first.accessToken);
    await storage.set(`grantflow:path-of-exile:poe-tool:tokens:default`, JSON.stringify(first));
    actor.send({ type: 'refresh' });
    expect(await toPromise(actor)).toMatchObject({ status: 'failed', error: { code: 'reauthorization_required' } });
  });
});
