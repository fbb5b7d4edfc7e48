import { describe, expect, it } from 'vitest';
import { createOAuthClient, memoryStorage, OAuthError, type Storage } from '../../src/index.js';
import { refreshLockKey, tokensKey } from '../../src/grants/storage-keys.js';
import { pathOfExile, poe } from '../../src/providers/index.js';
import { fakePathOfExile, fakePoe } from '../../src/testing/index.js';

const redirectUri = 'http://127.0.0.1:8080/callback';
const userAgent = 'OAuth poe-tool/1.0.0 (contact: dev@example.com)';

async function signedIn(options: { storage?: Storage; now?: () => number; lock?: { ttlMs?: number; pollIntervalMs?: number }; reusable?: boolean } = {}) {
  const fake = fakePathOfExile({ clients: [{ clientId: 'poe-tool', redirectUris: [redirectUri] }], accessTokenTtlSeconds: 3600 });
  const storage = options.storage ?? memoryStorage();
  const provider = options.reusable ? { ...pathOfExile, token: { ...pathOfExile.token, refreshTokensReusable: true } } : pathOfExile;
  const make = () =>
    createOAuthClient({
      provider,
      clientId: 'poe-tool',
      redirectUri,
      userAgent,
      http: fake.fetch,
      storage,
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      ...(options.now ? { clock: { now: options.now } } : {}),
      ...(options.lock ? { lock: options.lock } : {}),
    });
  const client = make();
  const { url } = await client.startAuthorization({ scopes: ['account:profile'] });
  const first = await client.completeAuthorization(await fake.approve(url));
  return { fake, storage, client, make, first };
}

const refreshRequests = (fake: { requests: Array<{ body: Record<string, unknown> }> }) => fake.requests.filter((r) => r.body.grant_type === 'refresh_token');

describe('refresh-token grant (Path of Exile fake: refresh tokens rotate)', () => {
  it('refresh() stores the rotated refresh token; the next refresh uses it', async () => {
    const { fake, client, first } = await signedIn();
    const second = await client.refresh();
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.extra.username).toBe('Exile#1234');
    expect(await client.getStoredTokens()).toEqual(second);
    const third = await client.refresh();
    const used = refreshRequests(fake).map((r) => r.body.refresh_token);
    expect(used).toEqual([first.refreshToken, second.refreshToken]);
    expect(third.refreshToken).not.toBe(second.refreshToken);
    expect(fake.requests.at(-1)!.headers['user-agent']).toBe(userAgent);
  });

  it('reusing an old refresh token is invalid_grant → reauthorization_required, and the stored set is deleted', async () => {
    const { client, storage, first } = await signedIn();
    await client.refresh();
    await storage.set(tokensKey('path-of-exile', 'poe-tool'), JSON.stringify(first)); // an old copy comes back
    const error = await client.refresh().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ code: 'reauthorization_required', status: 400 });
    expect(await client.getStoredTokens()).toBeUndefined();
  });

  it('getAccessToken returns the stored token while fresh, refreshes inside the window', async () => {
    let now = Date.now();
    const { fake, client, first } = await signedIn({ now: () => now });
    expect((await client.getAccessToken()).accessToken).toBe(first.accessToken);
    expect(refreshRequests(fake)).toHaveLength(0);
    now = first.expiresAt! - 30_000; // inside the 60 s window
    const fresh = await client.getAccessToken();
    expect(fresh.accessToken).not.toBe(first.accessToken);
    expect(refreshRequests(fake)).toHaveLength(1);
  });

  it('a credential without expiry (Poe api_key) is returned as it is; nothing stored is reauthorization_required', async () => {
    const fake = fakePoe({ clients: [{ clientId: 'app', redirectUris: [redirectUri] }] });
    const client = createOAuthClient({ provider: poe, clientId: 'app', redirectUri, http: fake.fetch });
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'reauthorization_required' });
    const { url } = await client.startAuthorization();
    const key = await client.completeAuthorization(await fake.approve(url, { apiKeyExpiresIn: null }));
    expect(await client.getAccessToken()).toEqual(key);
    await expect(client.refresh()).rejects.toMatchObject({ code: 'invalid_configuration', field: 'provider.grants.refresh_token' });
  });

  it('1000 concurrent getAccessToken on an expired token make exactly one refresh request', async () => {
    let now = Date.now();
    const { fake, client, first } = await signedIn({ now: () => now });
    now = first.expiresAt! + 1;
    const results = await Promise.all(Array.from({ length: 1000 }, () => client.getAccessToken()));
    expect(refreshRequests(fake)).toHaveLength(1);
    expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
  });

  it('separate clients sharing a storage (as processes would) refresh once, through the storage lock', async () => {
    let now = Date.now();
    const { fake, make, first } = await signedIn({ now: () => now, lock: { pollIntervalMs: 2 } });
    now = first.expiresAt! + 1;
    const clients = Array.from({ length: 8 }, make);
    const results = await Promise.all(clients.flatMap((c) => Array.from({ length: 50 }, () => c.getAccessToken())));
    expect(refreshRequests(fake)).toHaveLength(1);
    expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
  });

  it('a lock left by a crashed holder frees itself at its TTL; then the next caller refreshes', async () => {
    const { fake, client, storage } = await signedIn({ lock: { ttlMs: 80, pollIntervalMs: 5 } });
    await storage.setIfAbsent!(refreshLockKey('path-of-exile', 'poe-tool'), 'crashed-holder', 80);
    const started = Date.now();
    await client.refresh();
    expect(Date.now() - started).toBeGreaterThanOrEqual(50); // waited for the TTL, not for a release
    expect(refreshRequests(fake)).toHaveLength(1);
    expect(await storage.get(refreshLockKey('path-of-exile', 'poe-tool'))).toBeUndefined();
  });

  it('a 503 on a single-use refresh token is not retried (it may have been used), with a clear message', async () => {
    const { fake, client } = await signedIn();
    fake.failNext('http_503');
    const error = (await client.refresh().catch((e: unknown) => e)) as OAuthError;
    expect(error).toMatchObject({ status: 503, retryable: false });
    expect(error.message).toMatch(/not retried.*single-use/);
    expect(refreshRequests(fake)).toHaveLength(1);
  });

  it('a 429 is retried (the server did not process it); so is a 503 where refresh tokens are reusable', async () => {
    const a = await signedIn();
    a.fake.failNext('http_429', { retryAfterSeconds: 0 });
    await a.client.refresh();
    expect(refreshRequests(a.fake)).toHaveLength(2);
    const b = await signedIn({ reusable: true });
    b.fake.failNext('http_503');
    await b.client.refresh();
    expect(refreshRequests(b.fake)).toHaveLength(2);
  });

  it('when the rotated set cannot be stored, it is returned with the storage error (nothing lost)', async () => {
    const inner = memoryStorage();
    let failTokens = false;
    const storage: Storage = {
      ...inner,
      get: (k) => inner.get(k),
      delete: (k) => inner.delete(k),
      setIfAbsent: (k, v, t) => inner.setIfAbsent!(k, v, t),
      deleteIfEquals: (k, v) => inner.deleteIfEquals!(k, v),
      set: async (k, v, o) => {
        if (failTokens && k.includes(':tokens:')) throw new Error('disk full');
        return inner.set(k, v, o);
      },
    };
    const { client } = await signedIn({ storage });
    failTokens = true;
    const result = await client.refresh();
    expect(result.refreshToken).toMatch(/^poe-rt-/);
    expect((result as { storageError?: OAuthError }).storageError?.code).toBe('storage_error');
  });
});

describe('a rotated set that could not be stored is what the next call uses', () => {
  /** memoryStorage whose writes of TokenSets fail while `failing` is set. */
  function flakyStorage() {
    const inner = memoryStorage();
    const state = { failing: false };
    const storage: Storage = {
      ...inner,
      set: (key, value, options) => (state.failing && key.includes(':tokens:') ? Promise.reject(new Error('disk full')) : inner.set(key, value, options)),
    };
    return { storage, state };
  }

  it('the new set comes back with storageError; once storage works again it is stored first and its refresh token is the one sent', async () => {
    const { storage, state } = flakyStorage();
    const { fake, client, first } = await signedIn({ storage });
    state.failing = true;
    const second = (await client.refresh()) as Awaited<ReturnType<typeof client.refresh>> & { storageError?: OAuthError };
    expect(second.storageError).toMatchObject({ code: 'storage_error' });
    expect(second.refreshToken).not.toBe(first.refreshToken);

    // Still failing: a fresh kept set is returned; a refresh is refused rather than sent with the rotated token.
    expect((await client.getAccessToken()).accessToken).toBe(second.accessToken);
    await expect(client.refresh()).rejects.toMatchObject({ code: 'storage_error', field: 'storage.tokens' });
    expect(refreshRequests(fake)).toHaveLength(1);

    state.failing = false;
    const third = await client.refresh();
    expect(refreshRequests(fake).map((r) => r.body.refresh_token)).toEqual([first.refreshToken, second.refreshToken]);
    expect((await client.getStoredTokens())?.refreshToken).toBe(third.refreshToken);
  });

  it('after storage recovers, getAccessToken stores the kept set before reading', async () => {
    const { storage, state } = flakyStorage();
    const { client } = await signedIn({ storage });
    state.failing = true;
    const second = await client.refresh();
    state.failing = false;
    expect((await client.getAccessToken()).accessToken).toBe(second.accessToken);
    expect((await client.getStoredTokens())?.accessToken).toBe(second.accessToken);
  });
});

describe('a refused refresh deletes the stored set only if it is still the refused one', () => {
  it('a newer set stored meanwhile by another caller survives the invalid_grant', async () => {
    const storage = memoryStorage();
    await signedIn({ storage });
    const key = tokensKey('path-of-exile', 'poe-tool');
    const newer = JSON.stringify({ accessToken: 'newer-at', tokenType: 'bearer', refreshToken: 'newer-rt', extra: {} });
    const racing = createOAuthClient({
      provider: pathOfExile,
      clientId: 'poe-tool',
      redirectUri,
      userAgent,
      storage,
      http: async () => {
        // While this refresh is in flight, another instance refreshed and stored its rotated set.
        await storage.set(key, newer);
        return new Response(JSON.stringify({ error: 'invalid_grant' }), { status: 400, headers: { 'content-type': 'application/json' } });
      },
    });
    await expect(racing.refresh()).rejects.toMatchObject({ code: 'reauthorization_required' });
    expect(await storage.get(key)).toBe(newer);
  });

  it('the refused set itself is deleted', async () => {
    const storage = memoryStorage();
    await signedIn({ storage });
    const refusing = createOAuthClient({
      provider: pathOfExile,
      clientId: 'poe-tool',
      redirectUri,
      userAgent,
      storage,
      http: async () => new Response(JSON.stringify({ error: 'invalid_grant' }), { status: 400, headers: { 'content-type': 'application/json' } }),
    });
    await expect(refusing.refresh()).rejects.toMatchObject({ code: 'reauthorization_required' });
    expect(await storage.get(tokensKey('path-of-exile', 'poe-tool'))).toBeUndefined();
  });
});

describe('waiting for a lock is bounded in real time', () => {
  it('a lock that never frees (the injected clock stepped back, so its TTL never ends) → lock_timeout after lock.maxWaitMs', async () => {
    let now = Date.now();
    const clock = { now: () => now };
    const storage = memoryStorage({ clock });
    const { fake } = await signedIn({ storage, now: clock.now, lock: { pollIntervalMs: 5 } });
    await storage.setIfAbsent!(refreshLockKey('path-of-exile', 'poe-tool'), 'a-frozen-holder', 30_000);
    now -= 24 * 3_600_000; // the clock goes back a day: the lock's TTL is now a day longer
    const client = createOAuthClient({ provider: pathOfExile, clientId: 'poe-tool', redirectUri, userAgent, http: fake.fetch, storage, clock, lock: { pollIntervalMs: 5, maxWaitMs: 150 } });
    const started = performance.now();
    await expect(client.refresh()).rejects.toMatchObject({ code: 'lock_timeout', field: 'lock', retryable: true });
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(5_000);
    expect(refreshRequests(fake)).toHaveLength(0);
  });
});

describe('the refresh lock is a lease', () => {
  it('a refresh slower than the lock TTL is not overlapped: the holder renews the lease, the other caller waits and reuses its result', async () => {
    const storage = memoryStorage();
    const { fake } = await signedIn({ storage });
    // Expire the stored set so both callers want a refresh.
    const key = tokensKey('path-of-exile', 'poe-tool');
    const stored = JSON.parse((await storage.get(key))!);
    await storage.set(key, JSON.stringify({ ...stored, expiresAt: Date.now() - 1 }));
    const slow = async (url: string | URL | Request, init?: RequestInit) => {
      await new Promise((resolve) => setTimeout(resolve, 500)); // five lock TTLs
      return fake.fetch(url, init);
    };
    const make = (http: typeof slow) =>
      createOAuthClient({ provider: pathOfExile, clientId: 'poe-tool', redirectUri, userAgent, http, storage, lock: { ttlMs: 100, pollIntervalMs: 10 } });
    const first = make(slow).getAccessToken();
    await new Promise((resolve) => setTimeout(resolve, 150)); // past the TTL the lock was taken with
    const second = make(fake.fetch).getAccessToken();
    const [a, b] = await Promise.all([first, second]);
    expect(a.accessToken).toBe(b.accessToken);
    expect(refreshRequests(fake)).toHaveLength(1);
  });

  it('a holder that stops renewing (it died) frees the lock within its TTL', async () => {
    const storage = memoryStorage();
    const { fake, client } = await signedIn({ storage, lock: { ttlMs: 100, pollIntervalMs: 10 } });
    await storage.setIfAbsent!(refreshLockKey('path-of-exile', 'poe-tool'), 'a-dead-holder', 100);
    const started = performance.now();
    await client.refresh();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(refreshRequests(fake)).toHaveLength(1);
  });
});

describe('a stopped refresh keeps what it sent', () => {
  async function expiredSignIn() {
    const storage = memoryStorage();
    const signed = await signedIn({ storage });
    const key = tokensKey('path-of-exile', 'poe-tool');
    const stored = JSON.parse((await storage.get(key))!);
    await storage.set(key, JSON.stringify({ ...stored, expiresAt: Date.now() - 1 }));
    return { ...signed, key };
  }

  it('the request of a stopped actor is not aborted: its answer is stored, and the lock is held until then', async () => {
    const { fake, storage, key, first } = await expiredSignIn();
    const { createActor, waitFor } = await import('xstate');
    const { provideServices, refreshTokenMachine } = await import('../../machines/index.js');
    let arrived = false;
    const slow = async (url: string | URL | Request, init?: RequestInit) => {
      await new Promise((resolve) => setTimeout(resolve, 900)); // three lock TTLs
      const response = await fake.fetch(url, init);
      arrived = true;
      return response;
    };
    const machine = provideServices(refreshTokenMachine, { http: slow, storage, lock: { ttlMs: 300, pollIntervalMs: 10 } });
    const actor = createActor(machine, { input: { provider: pathOfExile, client: { clientId: 'poe-tool', redirectUri, userAgent } } }).start();
    await waitFor(actor, (s) => s.matches({ holdingLock: 'refreshing' }));
    actor.stop();
    expect(actor.getSnapshot().output).toMatchObject({ status: 'cancelled' });
    // Another caller now: it must wait for the stopped holder's answer, not send the same refresh token.
    const other = createOAuthClient({ provider: pathOfExile, clientId: 'poe-tool', redirectUri, userAgent, http: fake.fetch, storage, lock: { ttlMs: 300, pollIntervalMs: 10 } });
    const fresh = await other.getAccessToken();
    expect(arrived).toBe(true);
    expect(refreshRequests(fake)).toHaveLength(1);
    expect(refreshRequests(fake)[0]!.body.refresh_token).toBe(first.refreshToken);
    expect(JSON.parse((await storage.get(key))!).accessToken).toBe(fresh.accessToken);
    expect(fresh.accessToken).not.toBe(first.accessToken);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await storage.get(refreshLockKey('path-of-exile', 'poe-tool'))).toBeUndefined();
  });

  it('an actor stopped while storing the rotated set holds the lock until the write lands: no other caller reuses the old refresh token', async () => {
    const { fake, storage: inner, key, first } = await expiredSignIn();
    const { createActor, waitFor } = await import('xstate');
    const { provideServices, refreshTokenMachine } = await import('../../machines/index.js');
    let openWrite!: () => void;
    const writeGate = new Promise<void>((resolve) => (openWrite = resolve));
    // The write of the rotated set is held back until the other caller has tried.
    const storage: Storage = { ...inner, set: async (k, v, o) => (k === key ? writeGate.then(() => inner.set(k, v, o)) : inner.set(k, v, o)) };
    const lock = { ttlMs: 300, pollIntervalMs: 10 };
    const actor = createActor(provideServices(refreshTokenMachine, { http: fake.fetch, storage, lock }), {
      input: { provider: pathOfExile, client: { clientId: 'poe-tool', redirectUri, userAgent } },
    }).start();
    await waitFor(actor, (s) => s.matches({ holdingLock: 'storing' }));
    actor.stop();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await inner.get(refreshLockKey('path-of-exile', 'poe-tool'))).toBeDefined();
    const other = createOAuthClient({ provider: pathOfExile, clientId: 'poe-tool', redirectUri, userAgent, http: fake.fetch, storage: inner, lock });
    const otherResult = other.getAccessToken();
    // Past the lock's TTL: the lease is renewed while the write is pending.
    await new Promise((resolve) => setTimeout(resolve, 450));
    openWrite();
    const fresh = await otherResult;
    // One refresh request in all, with the first refresh token; the other caller got the rotated set.
    expect(refreshRequests(fake).map((r) => r.body.refresh_token)).toEqual([first.refreshToken]);
    expect(fresh.refreshToken).not.toBe(first.refreshToken);
    expect(JSON.parse((await inner.get(key))!).refreshToken).toBe(fresh.refreshToken);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await inner.get(refreshLockKey('path-of-exile', 'poe-tool'))).toBeUndefined();
  });

  it('a normal refresh releases its lock once (the lease does not release it a second time)', async () => {
    const inner = memoryStorage();
    let releases = 0;
    const storage: Storage = { ...inner, deleteIfEquals: async (k, v) => { if (k.endsWith(':lock')) releases++; return inner.deleteIfEquals!(k, v); } };
    const { client } = await signedIn({ storage });
    await client.refresh();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(releases).toBe(1);
  });
});
