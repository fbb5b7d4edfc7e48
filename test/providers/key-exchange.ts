import { describe, expect, it } from 'vitest';
import type { Provider } from '../../src/provider/schema.js';
import type { FakeOptions, FakeProvider } from '../../src/testing/index.js';
import { outcome, rewriteBody, rewriteInit, runCodeFlow } from '../support/flow.js';

/**
 * The checks OpenRouter and EUrouter share (their documents describe the same exchange);
 * each provider's own test file adds what differs.
 */
export function keyExchangeSuite(name: string, provider: Provider, fake: (options?: FakeOptions) => FakeProvider, keyPattern: RegExp) {
  const client = { clientId: 'my-app', redirectUri: 'http://localhost:3000/callback?from=grantflow' };

  describe(`${name}: the code + PKCE exchange for a key`, () => {
    it('returns the key as the access token; the state travels inside callback_url', async () => {
      const f = fake();
      const { output, authorizationUrl, callbackUrl } = await runCodeFlow({ provider, fake: f, client });
      const params = new URL(authorizationUrl).searchParams;
      expect([...params.keys()].sort()).toEqual(['callback_url', 'code_challenge', 'code_challenge_method']);
      const callback = new URL(params.get('callback_url')!);
      expect(callback.searchParams.get('from')).toBe('grantflow');
      expect(callback.searchParams.get('state')).toBeTruthy();
      expect(new URL(callbackUrl).searchParams.get('state')).toBe(callback.searchParams.get('state'));
      expect(output.status).toBe('succeeded');
      if (output.status !== 'succeeded') return;
      expect(output.tokens.accessToken).toMatch(keyPattern);
      expect(output.tokens.expiresAt).toBeUndefined();
      const request = f.requests[0]!;
      expect(request.headers['content-type']).toBe('application/json');
      expect(Object.keys(request.body).sort()).toEqual(['code', 'code_challenge_method', 'code_verifier']);
    });

    it('400 Invalid code_challenge_method → invalid_request', async () => {
      const { output } = await runCodeFlow({ provider, fake: fake(), client, http: rewriteBody((b) => ({ ...b, code_challenge_method: 'plain' })) });
      expect(outcome(output)).toBe('invalid_request');
      expect(output.status === 'failed' && output.error).toMatchObject({ status: 400, description: 'Invalid code_challenge_method' });
    });

    it('403 Invalid code or code_verifier → invalid_grant (wrong verifier)', async () => {
      const { output } = await runCodeFlow({ provider, fake: fake(), client, http: rewriteBody((b) => ({ ...b, code_verifier: 'A'.repeat(43) })) });
      expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_grant', status: 403, description: 'Invalid code or code_verifier' });
    });

    it('403 → invalid_grant for a code used after its 10 minutes', async () => {
      let now = 5_000_000;
      const { output } = await runCodeFlow({
        provider,
        fake: fake({ clock: { now: () => now } }),
        client,
        user: async (f, url) => {
          const callback = await f.approve(url);
          now += 10 * 60_000 + 1;
          return callback;
        },
      });
      expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_grant', status: 403 });
    });

    it('403 → invalid_grant for a code used twice', async () => {
      const f = fake();
      let firstCode = '';
      const first = await runCodeFlow({
        provider,
        fake: f,
        client,
        user: async (fk, url) => {
          const callback = await fk.approve(url);
          firstCode = new URL(callback).searchParams.get('code')!;
          return callback;
        },
      });
      expect(first.output.status).toBe('succeeded');
      // A second flow whose callback carries the first flow's (used) code.
      const second = await runCodeFlow({
        provider,
        fake: f,
        client,
        user: async (fk, url) => {
          const callback = new URL(await fk.approve(url));
          callback.searchParams.set('code', firstCode);
          return callback.toString();
        },
      });
      expect(second.output.status === 'failed' && second.output.error).toMatchObject({ code: 'invalid_grant', status: 403 });
    });

    it('405 Method Not Allowed → invalid_request', async () => {
      const { output } = await runCodeFlow({ provider, fake: fake(), client, http: rewriteInit((init) => ({ ...init, method: 'PUT' })) });
      expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_request', status: 405 });
    });

    it('access_denied when the user denies', async () => {
      const { output } = await runCodeFlow({ provider, fake: fake(), client, user: (f, url) => f.deny(url) });
      expect(outcome(output)).toBe('access_denied');
    });

    it('a 500 is not retried: the code may have been redeemed, and it is single-use', async () => {
      const f = fake();
      f.failNext('http_500');
      const { output } = await runCodeFlow({ provider, fake: f, client });
      expect(output.status === 'failed' && output.error).toMatchObject({ status: 500, retryable: false });
      expect(f.requests).toHaveLength(1);
    });

    it('a 429 is retried (not processed); the key arrives once', async () => {
      const f = fake();
      f.failNext('http_429', { retryAfterSeconds: 0 });
      const { output } = await runCodeFlow({ provider, fake: f, client });
      expect(output.status).toBe('succeeded');
      expect(f.requests).toHaveLength(2);
    });
  });
}
