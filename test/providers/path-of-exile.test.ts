import { describe, expect, it } from 'vitest';
import { pathOfExile } from '../../src/providers/index.js';
import { fakePathOfExile } from '../../src/testing/index.js';
import { outcome, rewriteInit, runCodeFlow } from '../support/flow.js';

const redirectUri = 'http://127.0.0.1:8080/callback';
const userAgent = 'OAuth poe-tool/1.2.0 (contact: dev@example.com)';
const publicClient = { clientId: 'poe-tool', redirectUri, userAgent };
const confidential = { clientId: 'poe-server', redirectUri, userAgent: 'OAuth poe-server/1.2.0 (contact: dev@example.com)' };
const fake = () =>
  fakePathOfExile({
    clients: [
      { clientId: 'poe-tool', redirectUris: [redirectUri] },
      { clientId: 'poe-server', redirectUris: [redirectUri], clientSecret: 'server-secret' },
    ],
  });

describe('Path of Exile: authorization code + PKCE against its fake', () => {
  it('public client: PKCE, client_id only, the User-Agent; account scopes; refresh token and username kept', async () => {
    const f = fake();
    const { output } = await runCodeFlow({ provider: pathOfExile, fake: f, client: publicClient, scopes: ['account:profile', 'account:characters'] });
    expect(output.status).toBe('succeeded');
    if (output.status !== 'succeeded') return;
    expect(output.tokens).toMatchObject({ tokenType: 'bearer', scopes: ['account:profile', 'account:characters'], extra: { username: 'Exile#1234' } });
    expect(output.tokens.refreshToken).toMatch(/^poe-rt-/);
    expect(f.requests[0]!.headers['user-agent']).toBe(userAgent);
    expect(f.requests[0]!.body.client_secret).toBeUndefined();
  });

  it('confidential client: client_secret_post (never HTTP Basic)', async () => {
    const f = fake();
    const { output } = await runCodeFlow({ provider: pathOfExile, fake: f, client: confidential, secrets: { clientSecret: 'server-secret' }, scopes: ['account:profile'] });
    expect(output.status).toBe('succeeded');
    expect(f.requests[0]!.body.client_secret).toBe('server-secret');
    expect(f.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('service:* scopes are refused at login before anything is sent', async () => {
    const f = fake();
    const { output } = await runCodeFlow({ provider: pathOfExile, fake: f, client: publicClient, scopes: ['service:leagues'] });
    expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_scope', field: 'scopes.0' });
    expect(f.requests).toHaveLength(0);
  });

  it('a missing User-Agent is refused before anything is sent; a malformed one too', async () => {
    for (const userAgentValue of [undefined, 'my-tool/1.0']) {
      const f = fake();
      const client = { clientId: 'poe-tool', redirectUri, ...(userAgentValue ? { userAgent: userAgentValue } : {}) };
      const { output } = await runCodeFlow({ provider: pathOfExile, fake: f, client, scopes: ['account:profile'] });
      expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_configuration', field: 'client.userAgent' });
      expect(f.requests).toHaveLength(0);
    }
  });

  it('the fake refuses a token request without the User-Agent: invalid_request', async () => {
    const { output } = await runCodeFlow({
      provider: pathOfExile,
      fake: fake(),
      client: publicClient,
      scopes: ['account:profile'],
      http: rewriteInit((init) => ({ ...init, headers: { ...(init.headers as Record<string, string>), 'user-agent': 'curl/8' } })),
    });
    expect(outcome(output)).toBe('invalid_request');
  });

  it('HTTP Basic is refused by the provider: invalid_client (provider data claiming basic)', async () => {
    const basic = { ...pathOfExile, token: { ...pathOfExile.token, authMethods: ['client_secret_basic' as const] } };
    const { output } = await runCodeFlow({ provider: basic, fake: fake(), client: confidential, secrets: { clientSecret: 'server-secret' }, scopes: ['account:profile'] });
    expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_client', status: 401 });
  });

  it('a wrong client secret is invalid_client, not retried', async () => {
    const f = fake();
    const { output } = await runCodeFlow({ provider: pathOfExile, fake: f, client: confidential, secrets: { clientSecret: 'wrong' }, scopes: ['account:profile'] });
    expect(outcome(output)).toBe('invalid_client');
    expect(f.requests).toHaveLength(1);
  });

  it('access_denied when the user denies', async () => {
    const { output } = await runCodeFlow({ provider: pathOfExile, fake: fake(), client: publicClient, scopes: ['account:profile'], user: (f, url) => f.deny(url) });
    expect(outcome(output)).toBe('access_denied');
  });
});
