import { createActor, toPromise, waitFor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { authorizationCodeMachine, provideServices } from '../../machines/index.js';
import { createOAuthClient, memoryStorage, OAuthError, type Storage } from '../../src/index.js';
import { euRouter, poe } from '../../src/providers/index.js';
import { fakeEuRouter, fakePoe } from '../../src/testing/index.js';

const REDIRECT = 'http://localhost:3000/callback';
const clients = [{ clientId: 'app', redirectUris: [REDIRECT] }];

function setup(options: { storage?: Storage; now?: () => number } = {}) {
  let now = Date.now();
  const clock = { now: options.now ?? (() => now) };
  const fake = fakePoe({ clients, clock });
  const storage = options.storage ?? memoryStorage({ clock });
  const make = () => createOAuthClient({ provider: poe, clientId: 'app', redirectUri: REDIRECT, http: fake.fetch, storage, clock });
  return { fake, storage, make, advance: (ms: number) => (now += ms) };
}

async function rejection(promise: Promise<unknown>): Promise<OAuthError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return error as OAuthError;
  }
  throw new Error('expected a rejection');
}

describe('createOAuthClient: authorization code + PKCE', () => {
  it('completes a flow and stores the tokens', async () => {
    const { fake, make } = setup();
    const client = make();
    const { url, state } = await client.startAuthorization();
    expect(new URL(url).searchParams.get('state')).toBe(state);
    const tokens = await client.completeAuthorization(await fake.approve(url));
    expect(tokens.accessToken).toMatch(/\S{8,}/);
    expect(await client.getStoredTokens()).toEqual(tokens);
  });

  it('completes in another client instance sharing the storage (the pending flow is a persisted snapshot, not a live actor)', async () => {
    const { fake, make } = setup();
    const { url } = await make().startAuthorization();
    const callback = await fake.approve(url);
    const tokens = await make().completeAuthorization(callback);
    expect(tokens.accessToken.length).toBeGreaterThan(0);
  });

  it('refuses a replayed callback with flow_not_found, without a second token request', async () => {
    const { fake, make } = setup();
    const client = make();
    const { url } = await client.startAuthorization();
    const callback = await fake.approve(url);
    await client.completeAuthorization(callback);
    const requests = fake.requests.length;
    expect((await rejection(client.completeAuthorization(callback))).code).toBe('flow_not_found');
    expect(fake.requests.length).toBe(requests);
  });

  it('refuses a late callback with flow_expired', async () => {
    const { fake, make, advance } = setup();
    const client = make();
    const { url } = await client.startAuthorization();
    const callback = await fake.approve(url);
    advance(10 * 60_000 + 1);
    expect((await rejection(client.completeAuthorization(callback))).code).toBe('flow_expired');
  });

  it('refuses a callback for an unknown state with flow_not_found, and one without state with state_mismatch', async () => {
    const { make } = setup();
    const client = make();
    await client.startAuthorization();
    expect((await rejection(client.completeAuthorization(`${REDIRECT}?code=x&state=nope`))).code).toBe('flow_not_found');
    expect((await rejection(client.completeAuthorization(`${REDIRECT}?code=x`))).code).toBe('state_mismatch');
  });

  it('returns the tokens with the storage error beside them when storing fails: a key shown once is never lost', async () => {
    const inner = memoryStorage();
    const failingTokens: Storage = {
      get: (key) => inner.get(key),
      delete: (key) => inner.delete(key),
      set: async (key, value, options) => {
        if (key.includes(':tokens:')) throw new Error('disk full');
        return inner.set(key, value, options);
      },
    };
    const fake = fakeEuRouter({ clients });
    const client = createOAuthClient({ provider: euRouter, clientId: 'app', redirectUri: REDIRECT, http: fake.fetch, storage: failingTokens });
    const { url } = await client.startAuthorization();
    const result = await client.completeAuthorization(await fake.approve(url));
    expect(result.accessToken).toMatch(/^eur_/);
    expect(result.extra.user_id).toBeTruthy();
    expect(result.storageError?.code).toBe('storage_error');
    expect(result.storageError?.message).not.toContain(result.accessToken);
  });

  it('fails at once on a bad provider, naming the field', () => {
    const bad = { ...poe, token: { ...poe.token, url: 'not a url' } };
    expect(() => createOAuthClient({ provider: bad, clientId: 'app', redirectUri: REDIRECT })).toThrow(
      expect.objectContaining({ code: 'invalid_provider', field: 'token.url' }),
    );
  });

  it('rejects startAuthorization without a redirect URI, before any request', async () => {
    const fake = fakePoe({ clients });
    const client = createOAuthClient({ provider: poe, clientId: 'app', http: fake.fetch });
    const error = await rejection(client.startAuthorization());
    expect(error).toMatchObject({ code: 'invalid_configuration', field: 'client.redirectUri' });
    expect(fake.requests).toHaveLength(0);
  });

  it('runs 1000 flows started concurrently through one client with no cross-talk', async () => {
    const { fake, make } = setup();
    const client = make();
    const started = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.startAuthorization({ key: `user-${i}` })));
    expect(new Set(started.map((s) => s.state)).size).toBe(1000);
    const callbacks = await Promise.all(started.map((s) => fake.approve(s.url)));
    // Complete in a shuffled order, all at once.
    const order = callbacks.map((callback, i) => ({ callback, i })).sort(() => Math.random() - 0.5);
    const results = await Promise.all(order.map(({ callback, i }) => client.completeAuthorization(callback).then((tokens) => ({ i, tokens }))));
    expect(new Set(results.map((r) => r.tokens.accessToken)).size).toBe(1000);
    for (const { i, tokens } of results.slice(0, 50)) {
      expect(await client.getStoredTokens({ key: `user-${i}` })).toEqual(tokens);
    }
    // Each code was exchanged exactly once, with the verifier of its own flow (the fake checks PKCE).
    expect(fake.requests).toHaveLength(1000);
  });
});

describe('a fake provider is itself a fetch function', () => {
  it('can be passed as http directly', async () => {
    const fake = fakePoe({ clients });
    const client = createOAuthClient({ provider: poe, clientId: 'app', redirectUri: REDIRECT, http: fake });
    const { url } = await client.startAuthorization();
    expect((await client.completeAuthorization(await fake.approve(url))).accessToken).toMatch(/^sk-poe-/);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('a credential once received is kept: stop or cancel while the code is being exchanged', () => {
  it.each(['stop', 'cancel'] as const)('%s during exchanging: the request goes on, and the tokens that arrive are stored', async (how) => {
    const fake = fakeEuRouter();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let seen: AbortSignal | undefined;
    const http = async (url: string | URL | Request, init?: RequestInit) => {
      seen = init?.signal ?? undefined;
      await gate; // the server is slow: the actor stops before the answer
      return fake.fetch(url, init);
    };
    const storage = memoryStorage();
    const actor = createActor(provideServices(authorizationCodeMachine, { http, storage }), {
      input: { provider: euRouter, client: { clientId: 'app', redirectUri: REDIRECT }, key: 'user-1' },
    }).start();
    const { context } = await waitFor(actor, (s) => s.matches('awaitingCallback'));
    actor.send({ type: 'callback', url: await fake.approve(context.authorizationUrl!) });
    await waitFor(actor, (s) => s.matches('exchanging'));
    if (how === 'stop') actor.stop();
    else {
      actor.send({ type: 'cancel' });
      expect(await toPromise(actor)).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
    }
    expect(seen?.aborted).toBe(false);
    release();
    const client = createOAuthClient({ provider: euRouter, clientId: 'app', redirectUri: REDIRECT, storage });
    for (let i = 0; i < 50 && !(await client.getStoredTokens({ key: 'user-1' })); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const stored = await client.getStoredTokens({ key: 'user-1' });
    expect(stored?.accessToken).toMatch(/^eur_/);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('a code is redeemed once, whatever the concurrency', () => {
  const withoutTake = (inner: Storage): Storage => ({ get: (k) => inner.get(k), set: (k, v, o) => inner.set(k, v, o), delete: (k) => inner.delete(k) });
  const claimKeyOnly = (inner: Storage): Storage => ({ ...withoutTake(inner), setIfAbsent: (k, v, t) => inner.setIfAbsent!(k, v, t) });

  it.each([
    ['memoryStorage (take)', () => memoryStorage()],
    ['a storage with setIfAbsent only (claim key)', () => claimKeyOnly(memoryStorage())],
    ['a storage with neither (this process only)', () => withoutTake(memoryStorage())],
  ])('%s: 20 concurrent completions of one callback → one token request, one success, 19 flow_not_found', async (_, storage) => {
    const { fake, make } = setup({ storage: storage() });
    const client = make();
    const { url } = await client.startAuthorization();
    const callback = await fake.approve(url);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => client.completeAuthorization(callback)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as OAuthError).code] : []));
    expect(codes).toEqual(Array(19).fill('flow_not_found'));
    expect(fake.requests).toHaveLength(1);
  });

  it('two clients (two app instances) sharing one storage: one redemption', async () => {
    const { fake, make } = setup();
    const { url } = await make().startAuthorization();
    const callback = await fake.approve(url);
    const results = await Promise.allSettled([make().completeAuthorization(callback), make().completeAuthorization(callback)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(fake.requests).toHaveLength(1);
  });

  it('a storage that fails while claiming is storage_error, and nothing is sent', async () => {
    const inner = memoryStorage();
    const { fake, make } = setup({ storage: { ...inner, take: async () => Promise.reject(new Error('disk on fire')) } });
    const client = make();
    const { url } = await client.startAuthorization();
    const error = await rejection(client.completeAuthorization(await fake.approve(url)));
    expect(error).toMatchObject({ code: 'storage_error', field: 'storage.pendingFlow' });
    expect(error.message).toContain('disk on fire');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('the callback URL itself is checked against the redirect URI', () => {
  it('the genuine code and state under another scheme are refused before any exchange', async () => {
    const { fake, make } = setup();
    const client = make();
    const { url } = await client.startAuthorization();
    const genuine = new URL(await fake.approve(url));
    for (const forged of [`javascript:alert(1)//${genuine.search}`, `ftp://evil.example/cb${genuine.search}`, `myapp:/cb${genuine.search}`]) {
      const error = await rejection(client.completeAuthorization(forged));
      expect(error, forged).toMatchObject({ code: 'invalid_callback', field: 'callback.url' });
    }
    const duplicated = await rejection(client.completeAuthorization(`${genuine.href}&code=another`));
    expect(duplicated).toMatchObject({ code: 'invalid_callback', field: 'callback.code' });
    expect(fake.requests).toHaveLength(0);
    // None of them ended the flow: the genuine callback still completes it.
    expect((await client.completeAuthorization(genuine.href)).accessToken).toBeTruthy();
  });

  it("an error callback in another issuer's name (RFC 9207) is refused and does not end the user's flow", async () => {
    const { fake, storage } = setup();
    // Poe's data with an issuer that does not always send iss: an iss that is present must be this one.
    const provider = { ...poe, issuer: 'https://poe.com', authorization: { ...poe.authorization!, requiresIss: false } };
    const client = createOAuthClient({ provider, clientId: 'app', redirectUri: REDIRECT, http: fake.fetch, storage });
    const { url, state } = await client.startAuthorization();
    const forged = `${REDIRECT}?state=${encodeURIComponent(state)}&error=access_denied&iss=${encodeURIComponent('https://evil.example')}`;
    expect(await rejection(client.completeAuthorization(forged))).toMatchObject({ code: 'invalid_callback', field: 'callback.iss' });
    expect((await client.completeAuthorization(await fake.approve(url))).accessToken).toBeTruthy();
  });

  it('matchRedirectUri: another host or path is refused; the redirect URI itself is accepted', async () => {
    const { fake, storage } = setup();
    const client = createOAuthClient({ provider: poe, clientId: 'app', redirectUri: REDIRECT, http: fake.fetch, storage, matchRedirectUri: true });
    const first = await client.startAuthorization();
    const genuine = new URL(await fake.approve(first.url));
    const error = await rejection(client.completeAuthorization(`http://localhost:3000/other${genuine.search}`));
    expect(error).toMatchObject({ code: 'invalid_callback', field: 'callback.url' });
    const second = await client.startAuthorization();
    expect((await client.completeAuthorization(await fake.approve(second.url))).accessToken).toBeTruthy();
  });
});
