import { describe, expect, it } from 'vitest';
import { isFreshAt, refreshWindowOf } from '../../src/grants/refresh-window.js';
import { createOAuthClient, memoryStorage } from '../../src/index.js';
import { tokensKey } from '../../src/grants/storage-keys.js';
import { pathOfExile } from '../../src/providers/index.js';
import { fakePathOfExile } from '../../src/testing/index.js';

const set = (issuedAt: number | undefined, expiresAt: number | undefined) => ({
  accessToken: 'at',
  tokenType: 'Bearer',
  ...(expiresAt === undefined ? {} : { expiresAt }),
  ...(issuedAt === undefined ? {} : { issuedAt }),
  extra: {},
});

describe('the refresh window fits the token', () => {
  it('is the configured window, but at most a quarter of the lifetime', () => {
    expect(refreshWindowOf(set(0, 3_600_000))).toBe(60_000);
    expect(refreshWindowOf(set(0, 10_000))).toBe(2_500);
    expect(refreshWindowOf(set(0, 120_000), 20_000)).toBe(20_000);
    expect(refreshWindowOf(set(undefined, 10_000))).toBe(60_000); // stored by an older version: no lifetime known
    expect(refreshWindowOf(set(10_000, 5_000))).toBe(60_000); // nonsense lifetime: the configured window
  });

  it('a 10 s token is fresh for 7.5 s; one that does not expire always', () => {
    expect(isFreshAt(set(0, 10_000), 7_499)).toBe(true);
    expect(isFreshAt(set(0, 10_000), 7_500)).toBe(false);
    expect(isFreshAt(set(0, undefined), 1e15)).toBe(true);
  });

  it('getAccessToken with 10 s tokens: three calls in the first seconds make no refresh; one past 7.5 s makes one', async () => {
    let now = 1_000_000;
    const redirectUri = 'http://127.0.0.1:8080/callback';
    const fake = fakePathOfExile({ clients: [{ clientId: 'poe-tool', redirectUris: [redirectUri] }], accessTokenTtlSeconds: 10 });
    const storage = memoryStorage({ clock: { now: () => now } });
    const client = createOAuthClient({ provider: pathOfExile, clientId: 'poe-tool', redirectUri, userAgent: 'OAuth poe-tool/1.0.0 (contact: dev@example.com)', http: fake.fetch, storage, clock: { now: () => now } });
    const { url } = await client.startAuthorization({ scopes: ['account:profile'] });
    const first = await client.completeAuthorization(await fake.approve(url));
    const refreshes = () => fake.requests.filter((r) => r.body.grant_type === 'refresh_token').length;
    for (const step of [1_000, 2_000, 3_000]) {
      now += step - (step === 1_000 ? 0 : 1_000);
      expect((await client.getAccessToken()).accessToken).toBe(first.accessToken);
    }
    expect(refreshes()).toBe(0);
    now += 5_000; // 8 s into a 10 s token
    expect((await client.getAccessToken()).accessToken).not.toBe(first.accessToken);
    expect(refreshes()).toBe(1);
    expect(JSON.parse((await storage.get(tokensKey('path-of-exile', 'poe-tool')))!).issuedAt).toBe(now);
  });
});
