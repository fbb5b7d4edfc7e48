import { describe, expect, it } from 'vitest';
import { createOAuthClient, memoryStorage, OAuthError, type Http, type Storage } from '../../src/index.js';
import { authorizationParams, type AuthorizationUrlOptions } from '../../src/provider/authorization-url.js';
import { buildPushedAuthorizationRequest, processPushedAuthorizationResponse } from '../../src/provider/pushed-authorization.js';
import type { RawResponse } from '../../src/provider/token-response.js';
import type { ClientAuthMethod, Provider } from '../../src/provider/schema.js';
import { buildEndpointRequest } from '../../src/grants/endpoint-request.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { basicCredentials, json, oauthError, pkceMatches, readRequest, type LoggedRequest } from '../../src/testing/kit.js';
import type { ClientConfig, ClientSecrets } from '../../src/secrets.js';

/**
 * RFC 9126 pushed authorization requests: the request's build and the answer's processing, then
 * the whole flow through the facade against a fake authorization server (a function returning
 * Responses) that keeps what was pushed and redeems the code against it.
 */

const AS = 'https://as.example';
const AUTHORIZE = `${AS}/authorize`;
const TOKEN = `${AS}/token`;
const PAR = `${AS}/par`;
const REDIRECT = 'http://127.0.0.1:8080/callback';
const SECRET = 'par-client-secret-0123456789';

const provider = (overrides: Parameters<typeof genericOAuth2>[0]['overrides'] = undefined): Provider =>
  genericOAuth2({
    id: 'par-as',
    authorizationEndpoint: AUTHORIZE,
    tokenEndpoint: TOKEN,
    pushedAuthorizationEndpoint: PAR,
    ...(overrides === undefined ? {} : { overrides }),
  });

const request = (p: Provider, extra: Partial<AuthorizationUrlOptions> = {}): AuthorizationUrlOptions => ({
  provider: p,
  clientId: 'my app',
  redirectUri: REDIRECT,
  scopes: ['openid', 'api:read'],
  state: 'state-123',
  pkce: { verifier: 'v'.repeat(43), challenge: 'challenge-abc', method: 'S256' },
  nonce: 'nonce-xyz',
  resource: ['https://api.example/', 'https://files.example/'],
  extraParams: { prompt: 'consent', login_hint: 'ada@example.com' },
  ...extra,
});

function push(p: Provider, auth: ClientAuthMethod | undefined, secrets: ClientSecrets, extra: Partial<AuthorizationUrlOptions> = {}) {
  const client: ClientConfig = { clientId: 'my app', redirectUri: REDIRECT, ...(auth === undefined ? {} : { authMethod: auth }) };
  const built = buildPushedAuthorizationRequest({
    provider: p,
    client,
    secrets,
    params: authorizationParams(request(p, extra)),
    build: (params) => buildEndpointRequest(p.pushedAuthorization!, 'authorization_code', { provider: p, client, secrets, params }),
  });
  return { built, form: new URLSearchParams(built.body) };
}

describe('buildPushedAuthorizationRequest (RFC 9126 §2.1)', () => {
  it.each([
    ['none', {}],
    ['client_secret_post', { clientSecret: SECRET }],
    ['client_secret_basic', { clientSecret: SECRET }],
  ] as const)('client_id is in the body exactly once: %s', (auth, secrets) => {
    const { built, form } = push(provider(), auth, secrets);
    expect(built.url).toBe(PAR);
    expect(built.method).toBe('POST');
    expect(built.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(form.getAll('client_id')).toEqual(['my app']);
    expect(form.has('grant_type')).toBe(false);
    if (auth === 'client_secret_basic') {
      expect(basicCredentials(built.headers.authorization)).toEqual({ clientId: 'my app', clientSecret: SECRET });
      expect(form.has('client_secret')).toBe(false);
    } else {
      expect(built.headers.authorization).toBeUndefined();
      expect(form.getAll('client_secret')).toEqual(auth === 'client_secret_post' ? [SECRET] : []);
    }
  });

  it('client_id exactly once where neither the authorization request nor the strategy would send it', () => {
    // A provider whose authorization request carries no client_id and whose token endpoint takes none in the body.
    const p = provider({ authorization: { sendsClientId: false }, token: { sendsClientId: false } });
    for (const [auth, secrets] of [['none', {}], ['client_secret_basic', { clientSecret: SECRET }], ['client_secret_post', { clientSecret: SECRET }]] as const) {
      expect(push(p, auth, secrets).form.getAll('client_id'), auth).toEqual(['my app']);
    }
  });

  it('hands the builder a client_id only where the strategy adds none (a builder that appends would send it twice)', () => {
    const p = provider();
    const handed = (auth: ClientAuthMethod, secrets: ClientSecrets) => {
      let given: Record<string, unknown> | undefined;
      buildPushedAuthorizationRequest({
        provider: p,
        client: { clientId: 'my app', redirectUri: REDIRECT, authMethod: auth },
        secrets,
        params: authorizationParams(request(p)),
        build: (params) => {
          given = params;
          return { url: PAR, method: 'POST', headers: {}, body: '' };
        },
      });
      return given!;
    };
    expect(handed('none', {})).not.toHaveProperty('client_id');
    expect(handed('client_secret_post', { clientSecret: SECRET })).not.toHaveProperty('client_id');
    expect(handed('client_secret_basic', { clientSecret: SECRET }).client_id).toBe('my app');
    expect(handed('client_secret_basic', { clientSecret: SECRET }).resource).toEqual(['https://api.example/', 'https://files.example/']);
  });

  it('keeps a repeated resource, one parameter each, in order', () => {
    const { form } = push(provider(), 'none', {});
    expect(form.getAll('resource')).toEqual(['https://api.example/', 'https://files.example/']);
    expect(push(provider(), 'none', {}, { resource: ['https://only.example/'] }).form.getAll('resource')).toEqual(['https://only.example/']);
  });

  it('carries every parameter of the authorization request, and nothing of the grant', () => {
    const p = provider();
    const { form } = push(p, 'client_secret_basic', { clientSecret: SECRET });
    const expected = authorizationParams(request(p));
    expect(expected.get('client_id')).toBe('my app');
    for (const name of new Set(expected.keys())) expect(form.getAll(name), name).toEqual(expected.getAll(name));
    expect(Object.fromEntries(form)).toMatchObject({
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid api:read',
      state: 'state-123',
      code_challenge: 'challenge-abc',
      code_challenge_method: 'S256',
      nonce: 'nonce-xyz',
      prompt: 'consent',
      login_hint: 'ada@example.com',
    });
    // Nothing else: the same names, each with its own count.
    expect([...form.keys()].sort()).toEqual([...expected.keys()].sort());
  });
});

const raw = (status: number, body: unknown, headers: Record<string, string> = {}): RawResponse => ({
  status,
  headers: new Headers({ 'content-type': 'application/json', ...headers }),
  text: typeof body === 'string' ? body : JSON.stringify(body),
});

function thrown(run: () => unknown): OAuthError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return error as OAuthError;
  }
  throw new Error('expected a throw');
}

describe('processPushedAuthorizationResponse (RFC 9126 §2.2–2.3)', () => {
  const p = provider();
  const now = 1_700_000_000_000;
  const URI = 'urn:ietf:params:oauth:request_uri:abc';

  it('201 with request_uri and expires_in', () => {
    expect(processPushedAuthorizationResponse(p, raw(201, { request_uri: URI, expires_in: 60 }), now)).toEqual({ requestUri: URI, expiresIn: 60 });
  });

  it.each([200, 202, 204])('HTTP %i is not 201: invalid_response, field response.status', (status) => {
    const error = thrown(() => processPushedAuthorizationResponse(p, raw(status, { request_uri: URI, expires_in: 60 }), now));
    expect(error).toMatchObject({ code: 'invalid_response', field: 'response.status', status, requestSent: true });
  });

  it.each([
    [{ expires_in: 60 }, 'request_uri'],
    [{ request_uri: '', expires_in: 60 }, 'request_uri'],
    [{ request_uri: 42, expires_in: 60 }, 'request_uri'],
    [{ request_uri: URI }, 'expires_in'],
    [{ request_uri: URI, expires_in: 0 }, 'expires_in'],
    [{ request_uri: URI, expires_in: -5 }, 'expires_in'],
    [{ request_uri: URI, expires_in: '60' }, 'expires_in'],
    [{ request_uri: URI, expires_in: null }, 'expires_in'],
  ])('%j is invalid_response naming response.body.%s', (body, field) => {
    const error = thrown(() => processPushedAuthorizationResponse(p, raw(201, body), now));
    expect(error).toMatchObject({ code: 'invalid_response', field: `response.body.${field}`, status: 201 });
  });

  it('a 201 body that is not a JSON object is invalid_response, field response.body', () => {
    expect(thrown(() => processPushedAuthorizationResponse(p, raw(201, 'not json'), now))).toMatchObject({ code: 'invalid_response', field: 'response.body' });
    expect(thrown(() => processPushedAuthorizationResponse(p, raw(201, [URI]), now))).toMatchObject({ code: 'invalid_response', field: 'response.body' });
  });

  it.each([
    [400, 'invalid_request'],
    [400, 'invalid_request_object'],
    [401, 'invalid_client'],
    [400, 'invalid_target'],
  ])('an OAuth error body (HTTP %i %s) is mapped to its code', (status, code) => {
    const error = thrown(() => processPushedAuthorizationResponse(p, raw(status, { error: code, error_description: 'refused' }), now));
    expect(error).toMatchObject({ code, status, serverCode: code, description: 'refused', requestSent: true });
    expect(error.message).toMatch(/^pushed authorization endpoint answered /);
  });

  it("the token endpoint's statusErrors do not apply to the pushed authorization endpoint", () => {
    const mapped = { ...p, token: { ...p.token, statusErrors: { '400': 'invalid_grant' } } };
    expect(thrown(() => processPushedAuthorizationResponse(mapped, raw(400, { error: 'invalid_request' }), now))).toMatchObject({ code: 'invalid_request' });
  });

  it('an error answer without an OAuth body is invalid_response, field response.status', () => {
    expect(thrown(() => processPushedAuthorizationResponse(p, raw(502, '<html>bad gateway</html>'), now))).toMatchObject({
      code: 'invalid_response',
      field: 'response.status',
      status: 502,
      retryable: true,
    });
  });
});

/** A fake authorization server: PAR endpoint, token endpoint; the user's approval reads what was pushed. */
function parServer(options: { clientSecret?: string; pushAnswer?: () => Response } = {}) {
  const requests: LoggedRequest[] = [];
  const pushed = new Map<string, URLSearchParams>();
  const codes = new Map<string, URLSearchParams>();
  let counter = 0;
  const authenticated = (logged: LoggedRequest, form: URLSearchParams) => {
    if (options.clientSecret === undefined) return form.get('client_id') !== null;
    const basic = basicCredentials(logged.headers.authorization);
    const id = basic?.clientId ?? form.get('client_id');
    const secret = basic?.clientSecret ?? form.get('client_secret');
    return id === 'app' && secret === options.clientSecret;
  };
  const http: Http = async (input, init) => {
    const { logged } = await readRequest(input, init);
    requests.push(logged);
    const form = new URLSearchParams(logged.rawBody);
    const path = new URL(logged.url).pathname;
    if (path === '/par') {
      if (options.pushAnswer) return options.pushAnswer();
      if (!authenticated(logged, form)) return oauthError('invalid_client', 'client authentication failed', 401);
      if (form.has('request_uri')) return oauthError('invalid_request', 'request_uri must not be pushed');
      const uri = `urn:ietf:params:oauth:request_uri:${++counter}`;
      pushed.set(uri, form);
      return json({ request_uri: uri, expires_in: 90 }, 201);
    }
    if (path === '/token') {
      if (!authenticated(logged, form)) return oauthError('invalid_client', 'client authentication failed', 401);
      const at = codes.get(form.get('code') ?? '');
      if (!at) return oauthError('invalid_grant', 'unknown code');
      codes.delete(form.get('code')!);
      if (form.get('redirect_uri') !== at.get('redirect_uri')) return oauthError('invalid_grant', 'redirect_uri mismatch');
      if (!(await pkceMatches(form.get('code_verifier') ?? '', at.get('code_challenge') ?? '', at.get('code_challenge_method') ?? ''))) {
        return oauthError('invalid_grant', 'PKCE verification failed');
      }
      return json({ access_token: `at-${counter}`, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${counter}`, ...(at.has('scope') ? { scope: at.get('scope') } : {}) });
    }
    return new Response('Not Found', { status: 404 });
  };
  return {
    http,
    requests,
    pushes: () => requests.filter((r) => r.url === PAR),
    /** The user at the authorization endpoint: only client_id and request_uri arrive; the pushed request is looked up. */
    approve(url: string): string {
      const sent = new URL(url);
      const form = pushed.get(sent.searchParams.get('request_uri') ?? '');
      if (!form || form.get('client_id') !== sent.searchParams.get('client_id')) throw new Error('unknown request_uri');
      pushed.delete(sent.searchParams.get('request_uri')!);
      const code = `code-${++counter}`;
      codes.set(code, form);
      const back = new URL(form.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', form.get('state')!);
      return back.toString();
    },
  };
}

/** A memory storage that records the keys written. */
function recordingStorage(): Storage & { written: string[] } {
  const inner = memoryStorage();
  const written: string[] = [];
  return {
    ...inner,
    written,
    set: (key, value, options) => {
      written.push(key);
      return inner.set(key, value, options);
    },
  };
}

describe('pushed authorization through the facade', () => {
  it('the push is POSTed to the PAR endpoint; the URL carries only client_id and request_uri; the exchange works after', async () => {
    const server = parServer();
    const client = createOAuthClient({ provider: provider(), clientId: 'app', redirectUri: REDIRECT, http: server.http });
    const { url, state } = await client.startAuthorization({ scopes: ['api:read'], resource: 'https://api.example/', extraParams: { prompt: 'login' } });
    const sent = new URL(url);
    expect(`${sent.origin}${sent.pathname}`).toBe(AUTHORIZE);
    expect([...sent.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(sent.searchParams.get('client_id')).toBe('app');
    expect(sent.searchParams.get('request_uri')).toBe('urn:ietf:params:oauth:request_uri:1');

    expect(server.requests).toHaveLength(1);
    const [pushRequest] = server.pushes();
    expect(pushRequest).toMatchObject({ method: 'POST', url: PAR });
    const form = new URLSearchParams(pushRequest!.rawBody);
    expect(form.getAll('client_id')).toEqual(['app']);
    expect(Object.fromEntries(form)).toMatchObject({ response_type: 'code', redirect_uri: REDIRECT, scope: 'api:read', state, code_challenge_method: 'S256', prompt: 'login', resource: 'https://api.example/' });
    expect(form.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const tokens = await client.completeAuthorization(server.approve(url));
    expect(tokens).toMatchObject({ accessToken: 'at-2', refreshToken: 'rt-2', scopes: ['api:read'] });
    expect(await client.getStoredTokens()).toEqual(tokens);
    // The token request is the ordinary one (grant_type, the verifier of the pushed challenge).
    const token = new URLSearchParams(server.requests.at(-1)!.rawBody);
    expect(Object.fromEntries(token)).toMatchObject({ grant_type: 'authorization_code', redirect_uri: REDIRECT, client_id: 'app', resource: 'https://api.example/' });
  });

  it.each(['client_secret_basic', 'client_secret_post'] as const)('the push authenticates as at the token endpoint: %s', async (authMethod) => {
    const server = parServer({ clientSecret: SECRET });
    const client = createOAuthClient({ provider: provider(), clientId: 'app', clientSecret: SECRET, authMethod, redirectUri: REDIRECT, http: server.http });
    const { url } = await client.startAuthorization();
    const pushRequest = server.pushes()[0]!;
    const form = new URLSearchParams(pushRequest.rawBody);
    expect(form.getAll('client_id')).toEqual(['app']);
    if (authMethod === 'client_secret_basic') {
      expect(basicCredentials(pushRequest.headers.authorization)).toEqual({ clientId: 'app', clientSecret: SECRET });
      expect(form.has('client_secret')).toBe(false);
    } else {
      expect(pushRequest.headers.authorization).toBeUndefined();
      expect(form.get('client_secret')).toBe(SECRET);
    }
    // The secret never reaches the URL the user is sent to.
    expect(url).not.toContain(SECRET);
    await expect(client.completeAuthorization(server.approve(url))).resolves.toMatchObject({ accessToken: expect.stringMatching(/^at-/) });
  });

  it.each([
    ['an OAuth error', () => oauthError('invalid_request', 'the redirect_uri is not registered'), { code: 'invalid_request', status: 400 }],
    ['a 200 instead of 201', () => json({ request_uri: 'urn:x', expires_in: 60 }), { code: 'invalid_response', field: 'response.status' }],
    ['no request_uri', () => json({ expires_in: 60 }, 201), { code: 'invalid_response', field: 'response.body.request_uri' }],
  ] as const)('a failed push (%s) ends the start with its error, and nothing is saved', async (_name, answer, expected) => {
    const server = parServer({ pushAnswer: answer });
    const storage = recordingStorage();
    const client = createOAuthClient({ provider: provider(), clientId: 'app', redirectUri: REDIRECT, http: server.http, storage, retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    const error = await client.startAuthorization().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject(expected);
    expect(storage.written.filter((key) => key.includes(':flow:'))).toEqual([]);
    expect(server.pushes()).toHaveLength(1);
  });

  it('a push that fails, then a new start that succeeds: the second flow completes', async () => {
    let fail = true;
    const server = parServer();
    const http: Http = async (input, init) => {
      if (fail && String(input) === PAR) {
        fail = false;
        return oauthError('temporarily_unavailable', 'try again', 400);
      }
      return server.http(input, init);
    };
    const storage = recordingStorage();
    const client = createOAuthClient({ provider: provider(), clientId: 'app', redirectUri: REDIRECT, http, storage });
    await expect(client.startAuthorization()).rejects.toMatchObject({ code: 'temporarily_unavailable' });
    expect(storage.written).toEqual([]);
    const { url } = await client.startAuthorization();
    await expect(client.completeAuthorization(server.approve(url))).resolves.toMatchObject({ accessToken: expect.stringMatching(/^at-/) });
  });

  it('without pushedAuthorization the parameters go in the URL and nothing is pushed', async () => {
    const server = parServer();
    const plain = genericOAuth2({ id: 'par-as', authorizationEndpoint: AUTHORIZE, tokenEndpoint: TOKEN });
    const client = createOAuthClient({ provider: plain, clientId: 'app', redirectUri: REDIRECT, http: server.http });
    const { url } = await client.startAuthorization({ scopes: ['api:read'] });
    expect(new URL(url).searchParams.get('request_uri')).toBeNull();
    expect(new URL(url).searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(server.requests).toHaveLength(0);
  });
});

// ---- Mutation-testing additions --------------------------------------------------------------

describe('processPushedAuthorizationResponse: status ranges and messages', () => {
  const p = provider();
  const now = 1_700_000_000_000;
  const URI = 'urn:ietf:params:oauth:request_uri:abc';
  const oauthBody = { error: 'invalid_request', error_description: 'refused' };

  it.each([200, 202, 204, 299])('any other 2xx (%i), whatever its body, is invalid_response saying it is not 201', (status) => {
    for (const body of [{ request_uri: URI, expires_in: 60 }, oauthBody]) {
      const error = thrown(() => processPushedAuthorizationResponse(p, raw(status, body), now));
      expect(error).toMatchObject({
        code: 'invalid_response',
        field: 'response.status',
        status,
        requestSent: true,
        message: `pushed authorization request answered HTTP ${status}, not 201 (RFC 9126 §2.2)`,
      });
    }
  });

  it.each([199, 300, 302, 400])('outside 2xx (%i) an OAuth error body is the server’s error', (status) => {
    expect(thrown(() => processPushedAuthorizationResponse(p, raw(status, oauthBody), now))).toMatchObject({ code: 'invalid_request', serverCode: 'invalid_request', status });
  });

  it('says whether request_uri or expires_in is missing or wrong', () => {
    const message = (body: unknown) => thrown(() => processPushedAuthorizationResponse(p, raw(201, body), now)).message;
    expect(message({ expires_in: 60 })).toBe('"response" body "request_uri" property is missing');
    expect(message({ request_uri: '', expires_in: 60 })).toBe('"response" body "request_uri" property must be a non-empty string');
    expect(message({ request_uri: null, expires_in: 60 })).toBe('"response" body "request_uri" property must be a non-empty string');
    expect(message({ request_uri: URI })).toBe('"response" body "expires_in" property is missing');
    expect(message({ request_uri: URI, expires_in: '60' })).toBe('"response" body "expires_in" property must be a positive number of seconds');
    expect(message({ request_uri: URI, expires_in: 0 })).toBe('"response" body "expires_in" property must be a positive number of seconds');
  });

  it('a fractional expires_in is kept as sent', () => {
    expect(processPushedAuthorizationResponse(p, raw(201, { request_uri: URI, expires_in: 0.5 }), now)).toEqual({ requestUri: URI, expiresIn: 0.5 });
  });
});

describe('buildPushedAuthorizationRequest: the request’s own client_id', () => {
  it('where the strategy adds none, a client_id the parameters carry is sent as given; the client’s is only the fallback', () => {
    const p = provider();
    const hand = (params: URLSearchParams) => {
      let given: Record<string, unknown> | undefined;
      buildPushedAuthorizationRequest({
        provider: p,
        client: { clientId: 'my app', redirectUri: REDIRECT, authMethod: 'client_secret_basic' },
        secrets: { clientSecret: SECRET },
        params,
        build: (fields) => {
          given = fields;
          return { url: PAR, method: 'POST', headers: {}, body: '' };
        },
      });
      return given!;
    };
    expect(hand(new URLSearchParams({ client_id: 'as requested', response_type: 'code' })).client_id).toBe('as requested');
    expect(hand(new URLSearchParams({ response_type: 'code' })).client_id).toBe('my app');
  });
});
