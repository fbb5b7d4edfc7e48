import { describe, expect, it } from 'vitest';
import { serveFetch } from '../../src/cli/serve-fetch.js';
import { codeChallenge } from '../../src/crypto/pkce.js';
import { poe } from '../../src/providers/index.js';
import { fakeEuRouter, fakeOpenRouter, fakePathOfExile, fakePoe, FakeProviderError, rebaseProvider } from '../../src/testing/index.js';

/** The fakes on their own, at the HTTP level: what each document says its provider does. */
const form = (fields: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
const json = (fields: Record<string, unknown>) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('fakePoe', () => {
  const authorize = (params: Record<string, string>) =>
    `https://poe.com/oauth/authorize?${new URLSearchParams({ client_id: 'c', redirect_uri: 'https://app.example/cb', response_type: 'code', scope: 'apikey:create', code_challenge: challenge, code_challenge_method: 'S256', state: 's1', ...params })}`;
  const fake = () => fakePoe({ clients: [{ clientId: 'c', redirectUris: ['https://app.example/cb'] }] });

  it('issues a code, exchanged once for { api_key, api_key_expires_in }', async () => {
    const f = fake();
    const callback = new URL(await f.approve(authorize({})));
    expect(callback.searchParams.get('state')).toBe('s1');
    const exchange = () => f('https://api.poe.com/token', form({ grant_type: 'authorization_code', client_id: 'c', code: callback.searchParams.get('code')!, redirect_uri: 'https://app.example/cb', code_verifier: verifier }));
    const first = await exchange();
    expect(first.status).toBe(200);
    expect(Object.keys(await first.json()).sort()).toEqual(['api_key', 'api_key_expires_in']);
    expect(await (await exchange()).json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('localhost redirect URIs work without registration; others must match exactly (no redirect otherwise)', async () => {
    await expect(fake().approve(authorize({ redirect_uri: 'http://localhost:9999/x' }))).resolves.toMatch(/^http:\/\/localhost:9999\/x\?code=/);
    await expect(fake().approve(authorize({ redirect_uri: 'https://app.example/cb/' }))).rejects.toBeInstanceOf(FakeProviderError);
  });

  it('a JSON body is invalid_request (Content-Type), a wrong grant_type unsupported_grant_type', async () => {
    const f = fake();
    expect(await (await f('https://api.poe.com/token', json({ grant_type: 'authorization_code' }))).json()).toMatchObject({ error: 'invalid_request' });
    expect(await (await f('https://api.poe.com/token', form({ grant_type: 'password' }))).json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('failNext: each kind once, then back to normal', async () => {
    const f = fake();
    const post = () => f('https://api.poe.com/token', form({ grant_type: 'password' }));
    f.failNext('server_error');
    expect((await post()).status).toBe(500);
    f.failNext('http_429', { retryAfterSeconds: 7 });
    expect((await post()).headers.get('retry-after')).toBe('7');
    f.failNext('html_502');
    expect((await post()).headers.get('content-type')).toBe('text/html');
    f.failNext('network_error');
    await expect(post()).rejects.toThrow('fetch failed');
    f.failNext('timeout');
    const controller = new AbortController();
    const hanging = f('https://api.poe.com/token', { ...form({}), signal: controller.signal });
    controller.abort();
    await expect(hanging).rejects.toThrow();
    expect((await post()).status).toBe(400);
  });
});

describe('fakeOpenRouter and fakeEuRouter', () => {
  it('OpenRouter: no challenge at all is allowed; plain is verified as plain', async () => {
    const f = fakeOpenRouter();
    const none = new URL(await f.approve('https://openrouter.ai/auth?callback_url=https%3A%2F%2Fapp.example%2Fcb'));
    expect((await f('https://openrouter.ai/api/v1/auth/keys', json({ code: none.searchParams.get('code') }))).status).toBe(200);
    const plain = new URL(await f.approve(`https://openrouter.ai/auth?callback_url=https%3A%2F%2Fapp.example%2Fcb&code_challenge=${verifier}&code_challenge_method=plain`));
    const ok = await f('https://openrouter.ai/api/v1/auth/keys', json({ code: plain.searchParams.get('code'), code_verifier: verifier, code_challenge_method: 'plain' }));
    expect(await ok.json()).toMatchObject({ key: expect.stringMatching(/^sk-or-v1-/) });
    expect((await f('https://openrouter.ai/api/v1/auth/keys', { method: 'GET' })).status).toBe(405);
  });

  it('EUrouter: HTTPS callbacks (HTTP only for localhost), a challenge required, S256 by default', async () => {
    const f = fakeEuRouter();
    await expect(f.approve(`https://api.eurouter.ai/api/v1/auth?callback_url=http%3A%2F%2Fapp.example%2Fcb&code_challenge=${challenge}`)).rejects.toBeInstanceOf(FakeProviderError);
    await expect(f.approve('https://api.eurouter.ai/api/v1/auth?callback_url=https%3A%2F%2Fapp.example%2Fcb')).rejects.toBeInstanceOf(FakeProviderError);
    const callback = new URL(await f.approve(`https://api.eurouter.ai/api/v1/auth?callback_url=http%3A%2F%2Flocalhost%3A3000%2Fcb&code_challenge=${challenge}`));
    const wrongMethod = await f('https://api.eurouter.ai/api/v1/auth/keys', json({ code: callback.searchParams.get('code'), code_verifier: verifier, code_challenge_method: 'plain' }));
    expect(wrongMethod.status).toBe(400);
    const again = new URL(await f.approve(`https://api.eurouter.ai/api/v1/auth?callback_url=http%3A%2F%2Flocalhost%3A3000%2Fcb&code_challenge=${await codeChallenge(verifier, 'S256')}`));
    const ok = await f('https://api.eurouter.ai/api/v1/auth/keys', json({ code: again.searchParams.get('code'), code_verifier: verifier, code_challenge_method: 'S256' }));
    expect(await ok.json()).toMatchObject({ key: expect.stringMatching(/^eur_/), user_id: expect.any(String) });
  });
});

describe('fakePathOfExile', () => {
  it('refuses a User-Agent of the wrong shape and HTTP Basic client authentication', async () => {
    const f = fakePathOfExile({ clients: [{ clientId: 'svc', redirectUris: [], clientSecret: 's' }] });
    const base = { grant_type: 'client_credentials', client_id: 'svc', client_secret: 's', scope: 'service:leagues' };
    const noAgent = await f('https://www.pathofexile.com/oauth/token', form(base));
    expect(await noAgent.json()).toMatchObject({ error: 'invalid_request' });
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'OAuth svc/1.0 (contact: a@b.c)' };
    const basic = await f('https://www.pathofexile.com/oauth/token', { method: 'POST', headers: { ...headers, authorization: `Basic ${btoa('svc:s')}` }, body: new URLSearchParams(base).toString() });
    expect(basic.status).toBe(401);
    const ok = await f('https://www.pathofexile.com/oauth/token', { method: 'POST', headers, body: new URLSearchParams(base).toString() });
    expect(await ok.json()).toMatchObject({ token_type: 'bearer', scope: 'service:leagues' });
  });
});

describe('serving a fake over real HTTP', () => {
  it('answers on 127.0.0.1 at the rebased endpoints', async () => {
    const f = fakePoe({ clients: [{ clientId: 'c', redirectUris: ['https://app.example/cb'] }] });
    const served = await serveFetch((request) => f(request));
    try {
      const provider = rebaseProvider(poe, served.origin);
      expect(provider.token.url).toBe(`${served.origin}/token`);
      const response = await fetch(provider.token.url, form({ grant_type: 'password' }));
      expect(await response.json()).toMatchObject({ error: 'unsupported_grant_type' });
      expect(f.requests).toHaveLength(1);
    } finally {
      await served.close();
    }
  });
});
