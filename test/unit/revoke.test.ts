import { describe, expect, it } from 'vitest';
import { createOAuthClient, memoryStorage, type Storage } from '../../src/index.js';
import { buildRevocationRequest, processRevocationResponse, revokeTokenSet } from '../../src/grants/revoke.js';
import { tokensKey } from '../../src/grants/storage-keys.js';
import { parseProvider } from '../../src/provider/parse.js';
import type { RawResponse } from '../../src/provider/token-response.js';
import { resolveServices } from '../../src/services/defaults.js';
import { genericOAuth2, poe } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

const tokenEndpoint = 'https://as.example/token';
const revocationEndpoint = 'https://as.example/revoke';
const provider = genericOAuth2({ id: 'as', tokenEndpoint, revocationEndpoint });
const client = { clientId: 'my app' };
const form = (body: string) => Object.fromEntries(new URLSearchParams(body));
const answer = (status: number, text = '', headers: Record<string, string> = {}): RawResponse => ({ status, text, headers: new Headers(headers) });


describe('provider data: revocation', () => {
  it('genericOAuth2({ revocationEndpoint }) sets it; body defaults to form, authMethods to the token endpoint’s', () => {
    expect(provider.revocation).toEqual({ url: revocationEndpoint, body: 'form' });
    expect(JSON.parse(JSON.stringify(provider))).toEqual(provider);
    expect(genericOAuth2({ tokenEndpoint }).revocation).toBeUndefined();
  });

  it.each([
    [{ url: 'ftp://as.example/revoke' }, 'revocation.url'],
    [{ url: revocationEndpoint, body: 'json' }, 'revocation.body'],
    [{ url: revocationEndpoint, authMethods: [] }, 'revocation.authMethods'],
    [{ url: revocationEndpoint, hint: 'x' }, 'revocation.hint'],
  ])('refuses %j at %s', (revocation, field) => {
    const error = thrown(() => parseProvider({ id: 'x', name: 'X', token: { url: tokenEndpoint }, revocation, grants: { refresh_token: {} } }));
    expect(error).toMatchObject({ code: 'invalid_provider', field });
  });
});

describe('buildRevocationRequest (RFC 7009 §2.1)', () => {
  it('public client: a form POST of token, token_type_hint and client_id, no grant_type', () => {
    const request = buildRevocationRequest({ provider, client, secrets: {}, token: 'rt-1', tokenTypeHint: 'refresh_token' });
    expect(request).toMatchObject({ url: revocationEndpoint, method: 'POST' });
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(form(request.body)).toEqual({ token: 'rt-1', token_type_hint: 'refresh_token', client_id: 'my app' });
    expect(request.headers.authorization).toBeUndefined();
  });

  it('confidential client: client_secret_basic as at the token endpoint, no secret in the body', () => {
    const request = buildRevocationRequest({ provider, client, secrets: { clientSecret: 's3cret' }, token: 'at-1', tokenTypeHint: 'access_token' });
    expect(request.headers.authorization).toBe(`Basic ${btoa('my+app:s3cret')}`);
    expect(form(request.body)).toEqual({ token: 'at-1', token_type_hint: 'access_token' });
  });

  it('revocation.authMethods overrides the token endpoint’s (client_secret_post here)', () => {
    const post = parseProvider({ ...provider, revocation: { url: revocationEndpoint, authMethods: ['client_secret_post'] } });
    const request = buildRevocationRequest({ provider: post, client, secrets: { clientSecret: 's3cret' }, token: 't' });
    expect(form(request.body)).toEqual({ token: 't', client_id: 'my app', client_secret: 's3cret' });
    expect(request.headers.authorization).toBeUndefined();
  });

  it('no revocation endpoint: invalid_configuration naming provider.revocation', () => {
    const error = thrown(() => buildRevocationRequest({ provider: genericOAuth2({ tokenEndpoint }), client, secrets: {}, token: 't' }));
    expect(error).toMatchObject({ code: 'invalid_configuration', field: 'provider.revocation' });
  });
});

describe('processRevocationResponse (RFC 7009 §2.2)', () => {
  it.each([
    ['200 with an empty body', answer(200)],
    ['200 with a JSON body', answer(200, '{}')],
    ['200 with a non-JSON body', answer(200, 'ok')],
  ])('%s means revoked', (_name, response) => {
    expect(() => processRevocationResponse(provider, response, 0)).not.toThrow();
  });

  it('an error body is an OAuthError with its code: unsupported_token_type', () => {
    const error = thrown(() => processRevocationResponse(provider, answer(400, '{"error":"unsupported_token_type"}'), 0));
    expect(error).toMatchObject({ code: 'unsupported_token_type', status: 400, retryable: false, requestSent: true });
    expect(error.message).toMatch(/^revocation endpoint answered unsupported_token_type/);
  });

  it('503 is retryable (not retried here), with Retry-After', () => {
    const error = thrown(() => processRevocationResponse(provider, answer(503, '{"error":"temporarily_unavailable","error_description":"later"}', { 'retry-after': '7' }), 0));
    expect(error).toMatchObject({ code: 'temporarily_unavailable', description: 'later', status: 503, retryable: true, retryAfterMs: 7000 });
  });

  it('an error status without an OAuth error body is invalid_response', () => {
    expect(thrown(() => processRevocationResponse(provider, answer(502, '<html>'), 0))).toMatchObject({ code: 'invalid_response', status: 502, retryable: true, field: 'response.status' });
    expect(thrown(() => processRevocationResponse(provider, answer(401, ''), 0))).toMatchObject({ code: 'invalid_response', status: 401, retryable: false });
  });

  it('the token endpoint’s statusErrors do not apply at the revocation endpoint', () => {
    const mapped = parseProvider({ ...provider, token: { ...provider.token, statusErrors: { '403': 'invalid_grant' } } });
    expect(thrown(() => processRevocationResponse(mapped, answer(403, ''), 0)).code).toBe('invalid_response');
  });
});

describe('revokeTokenSet: which tokens', () => {
  function recording() {
    const sent: Array<Record<string, string>> = [];
    const http = (async (_url: string, init?: RequestInit) => {
      sent.push(form(String(init?.body)));
      return new Response(null, { status: 200 });
    }) as typeof fetch;
    return { sent, services: resolveServices({ http }) };
  }
  const tokens = { accessToken: 'at', tokenType: 'Bearer', refreshToken: 'rt', extra: {} };

  it.each([
    [undefined, tokens, [['rt', 'refresh_token']]],
    ['access_token', tokens, [['at', 'access_token']]],
    ['both', tokens, [['rt', 'refresh_token'], ['at', 'access_token']]],
    ['refresh_token', { accessToken: 'at', tokenType: 'Bearer', extra: {} }, [['at', 'access_token']]],
  ] as const)('token: %s', async (which, set, expected) => {
    const { sent, services } = recording();
    await revokeTokenSet(services, {}, { provider, client, tokens: set, token: which });
    expect(sent.map((body) => [body.token, body.token_type_hint])).toEqual(expected);
  });
});

describe('the facade: revoke and logout', () => {
  const key = tokensKey('as', 'my app');
  const stored = JSON.stringify({ accessToken: 'at', tokenType: 'Bearer', refreshToken: 'rt', extra: {} });
  const answering = (status: number, body = '') => (async () => new Response(body, { status })) as typeof fetch;

  it('revoke without a revocation endpoint: invalid_configuration; with nothing stored: reauthorization_required', async () => {
    const without = createOAuthClient({ provider: genericOAuth2({ tokenEndpoint }), clientId: 'my app', http: answering(200) });
    await expect(without.revoke()).rejects.toMatchObject({ code: 'invalid_configuration', field: 'provider.revocation' });
    const empty = createOAuthClient({ provider, clientId: 'my app', http: answering(200) });
    await expect(empty.revoke()).rejects.toMatchObject({ code: 'reauthorization_required' });
  });

  it('revoke keeps the stored set; a refused revocation throws its error', async () => {
    const storage = memoryStorage();
    await storage.set(key, stored);
    await createOAuthClient({ provider, clientId: 'my app', storage, http: answering(200) }).revoke();
    expect(await storage.get(key)).toBe(stored);
    const refused = createOAuthClient({ provider, clientId: 'my app', storage, http: answering(400, '{"error":"unsupported_token_type"}') });
    await expect(refused.revoke()).rejects.toMatchObject({ code: 'unsupported_token_type' });
  });

  it('logout: a refused revocation is reported, the set deleted all the same', async () => {
    const storage = memoryStorage();
    await storage.set(key, stored);
    const result = await createOAuthClient({ provider, clientId: 'my app', storage, http: answering(503, '{"error":"temporarily_unavailable"}') }).logout();
    expect(result).toMatchObject({ revoked: false, deleted: true, revocationError: { code: 'temporarily_unavailable', retryable: true } });
    expect(await storage.get(key)).toBeUndefined();
  });

  it('logout without a revocation endpoint deletes without revoking; revoke: true says why it could not', async () => {
    const storage = memoryStorage();
    await storage.set(tokensKey('poe', 'my app'), stored);
    let calls = 0;
    const http = (async () => (calls++, new Response(null))) as typeof fetch;
    const plain = createOAuthClient({ provider: poe, clientId: 'my app', storage, http });
    expect(await plain.logout()).toEqual({ revoked: false, deleted: true });
    expect(await storage.get(tokensKey('poe', 'my app'))).toBeUndefined();
    const asked = await plain.logout({ revoke: true });
    expect(asked).toMatchObject({ revoked: false, deleted: true, revocationError: { code: 'invalid_configuration', field: 'provider.revocation' } });
    expect(calls).toBe(0);
  });

  it('logout with nothing stored sends nothing and reports no error', async () => {
    let calls = 0;
    const http = (async () => (calls++, new Response(null))) as typeof fetch;
    expect(await createOAuthClient({ provider, clientId: 'my app', http }).logout()).toEqual({ revoked: false, deleted: true });
    expect(calls).toBe(0);
  });

  it('a storage that cannot delete: deleted false and a storage_error, not thrown', async () => {
    const inner = memoryStorage();
    await inner.set(key, stored);
    const storage: Storage = { get: (k) => inner.get(k), set: (k, v) => inner.set(k, v), delete: async () => Promise.reject(new Error('disk full')) };
    const result = await createOAuthClient({ provider, clientId: 'my app', storage, http: answering(200) }).logout();
    expect(result).toMatchObject({ revoked: true, deleted: false, storageError: { code: 'storage_error' } });
    expect(result.storageError!.message).toContain('disk full');
  });

  it('logout also forgets tokens kept in memory because they could not be stored', async () => {
    // A code flow whose save fails keeps its tokens in memory; logout revokes those (the newest) and forgets them.
    const inner = memoryStorage();
    let failSet = false;
    const storage: Storage = {
      get: (k) => inner.get(k),
      set: (k, v, o) => (failSet && k === key ? Promise.reject(new Error('read-only')) : inner.set(k, v, o)),
      delete: (k) => inner.delete(k),
      take: async (k) => {
        const value = await inner.get(k);
        await inner.delete(k);
        return value;
      },
    };
    const revoked: string[] = [];
    const http = (async (url: string, init?: RequestInit) => {
      if (String(url) === revocationEndpoint) {
        revoked.push(form(String(init?.body)).token!);
        return new Response(null);
      }
      return Response.json({ access_token: 'at-new', refresh_token: 'rt-new', token_type: 'Bearer', expires_in: 3600 });
    }) as typeof fetch;
    const withCode = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint, revocationEndpoint });
    const oauth = createOAuthClient({ provider: withCode, clientId: 'my app', redirectUri: 'https://app.example/cb', storage, http });
    const { state } = await oauth.startAuthorization();
    failSet = true;
    const completed = await oauth.completeAuthorization(`https://app.example/cb?code=c&state=${state}`);
    expect(completed.storageError?.code).toBe('storage_error');
    expect(await oauth.logout()).toEqual({ revoked: true, deleted: true });
    expect(revoked).toEqual(['rt-new']);
    failSet = false;
    // Nothing kept in memory is written back later.
    await expect(oauth.getAccessToken()).rejects.toMatchObject({ code: 'reauthorization_required' });
  });
});
