import { describe, expect, it } from 'vitest';
import { poe } from '../../src/providers/index.js';
import { fakePoe } from '../../src/testing/index.js';
import { outcome, rewriteBody, rewriteInit, runCodeFlow } from '../support/flow.js';

const client = { clientId: 'poe-app', redirectUri: 'https://app.example.com/callback' };
const fake = () => fakePoe({ clients: [{ clientId: 'poe-app', redirectUris: [client.redirectUri] }] });

describe('Poe: authorization code + PKCE against its fake', () => {
  it('returns the api_key as the access token, with its expiry', async () => {
    const before = Date.now();
    const { output, authorizationUrl } = await runCodeFlow({ provider: poe, fake: fake(), client });
    const params = new URL(authorizationUrl).searchParams;
    expect(params.get('scope')).toBe('apikey:create');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(output.status).toBe('succeeded');
    if (output.status !== 'succeeded') return;
    expect(output.tokens.accessToken).toMatch(/^sk-poe-/);
    expect(output.tokens.expiresAt).toBeGreaterThanOrEqual(before + 30 * 24 * 3600 * 1000);
  });

  it('a key that does not expire (api_key_expires_in: null) has no expiresAt', async () => {
    const { output } = await runCodeFlow({ provider: poe, fake: fake(), client, user: (f, url) => f.approve(url, { apiKeyExpiresIn: null }) });
    expect(output.status === 'succeeded' && output.tokens.expiresAt).toBe(undefined);
  });

  it('sends the token request as the document shows: form-encoded, five fields', async () => {
    const f = fake();
    await runCodeFlow({ provider: poe, fake: f, client });
    const request = f.requests[0]!;
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.keys(request.body).sort()).toEqual(['client_id', 'code', 'code_verifier', 'grant_type', 'redirect_uri']);
  });

  describe('authorization errors (redirected with error and error_description)', () => {
    it('access_denied when the user clicks Deny', async () => {
      const { output } = await runCodeFlow({ provider: poe, fake: fake(), client, user: (f, url) => f.deny(url) });
      expect(outcome(output)).toBe('access_denied');
      // The fake's error_description, 'The user clicked "Deny"', has quotes: outside RFC 6749 §4.1.2.1's charset, so it is dropped, not echoed.
      expect(output.status === 'failed' && output.error.description).toBeUndefined();
    });
    for (const [code, tamper] of [
      ['invalid_request', (u: URL) => u.searchParams.delete('code_challenge')],
      ['unsupported_response_type', (u: URL) => u.searchParams.set('response_type', 'token')],
      ['invalid_scope', (u: URL) => u.searchParams.set('scope', 'everything')],
    ] as const) {
      it(code, async () => {
        const { output } = await runCodeFlow({
          provider: poe,
          fake: fake(),
          client,
          user: (f, url) => {
            const u = new URL(url);
            tamper(u);
            return f.approve(u.toString());
          },
        });
        expect(outcome(output)).toBe(code);
      });
    }
  });

  describe('token errors', () => {
    it('invalid_request: wrong Content-Type (a provider described with a JSON body)', async () => {
      const { output } = await runCodeFlow({ provider: { ...poe, token: { ...poe.token, body: 'json' } }, fake: fake(), client });
      expect(outcome(output)).toBe('invalid_request');
    });
    it('invalid_grant: PKCE verification failed', async () => {
      const { output } = await runCodeFlow({ provider: poe, fake: fake(), client, http: rewriteBody((b) => ({ ...b, code_verifier: 'x'.repeat(43) })) });
      expect(outcome(output)).toBe('invalid_grant');
    });
    it('invalid_grant: code expired', async () => {
      let now = 1_000_000;
      const f = fakePoe({ clients: [{ clientId: 'poe-app', redirectUris: [client.redirectUri] }], clock: { now: () => now } });
      const { output } = await runCodeFlow({
        provider: poe,
        fake: f,
        client,
        user: async (fk, url) => {
          const callback = await fk.approve(url);
          now += 11 * 60_000;
          return callback;
        },
      });
      expect(outcome(output)).toBe('invalid_grant');
    });
    it('unsupported_grant_type', async () => {
      const { output } = await runCodeFlow({ provider: poe, fake: fake(), client, http: rewriteBody((b) => ({ ...b, grant_type: 'password' })) });
      expect(outcome(output)).toBe('unsupported_grant_type');
    });
    it('server_error is retried (the document: safe to retry) and the flow succeeds', async () => {
      const f = fake();
      f.failNext('server_error');
      const { output } = await runCodeFlow({ provider: poe, fake: f, client });
      expect(output.status).toBe('succeeded');
      expect(f.requests).toHaveLength(2);
    });
    it('invalid_grant is never retried', async () => {
      const f = fake();
      const { output } = await runCodeFlow({ provider: poe, fake: f, client, http: rewriteBody((b) => ({ ...b, code: 'forged' })) });
      expect(outcome(output)).toBe('invalid_grant');
      expect(f.requests).toHaveLength(1);
    });
    it('a 405 HTML answer is invalid_response with the status, not a crash', async () => {
      const { output } = await runCodeFlow({
        provider: poe,
        fake: fake(),
        client,
        http: () => async () => new Response('<html>nope</html>', { status: 405, headers: { 'content-type': 'text/html' } }),
      });
      expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_response', status: 405 });
    });
    it('what cannot have been processed is retried: 503 and 429 with Retry-After', async () => {
      for (const kind of ['http_503', 'http_429'] as const) {
        const f = fake();
        f.failNext(kind, { retryAfterSeconds: 0 });
        const { output } = await runCodeFlow({ provider: poe, fake: f, client });
        expect(output.status, kind).toBe('succeeded');
        expect(f.requests, kind).toHaveLength(2);
      }
    });
    it('what may have been processed is not: a reset after sending, an HTML 502 — the code is sent once', async () => {
      for (const kind of ['network_error', 'html_502'] as const) {
        const f = fake();
        f.failNext(kind);
        const { output } = await runCodeFlow({ provider: poe, fake: f, client });
        expect(output.status === 'failed' && output.error.retryable, kind).toBe(false);
        expect(f.requests, kind).toHaveLength(1);
      }
    });
    it('a token request that never answers times out and is not retried (the server may have redeemed the code)', async () => {
      const f = fake();
      f.failNext('timeout');
      const { output } = await runCodeFlow({ provider: poe, fake: f, client, timeoutMs: 50 });
      expect(output.status === 'failed' && output.error).toMatchObject({ code: 'timeout', retryable: false });
      expect(f.requests).toHaveLength(1);
    });
    it('method: a GET is refused', async () => {
      const { output } = await runCodeFlow({ provider: poe, fake: fake(), client, http: rewriteInit((init) => ({ ...init, method: 'GET', body: null })) });
      expect(output.status).toBe('failed');
    });
  });
});
