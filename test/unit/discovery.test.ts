import { describe, expect, it, vi } from 'vitest';
import { checkCallback } from '../../src/provider/callback.js';
import { discoverProvider, wellKnownUrls } from '../../src/discovery/discover.js';
import { parseProvider } from '../../src/provider/parse.js';
import type { Http } from '../../src/services/types.js';
import { rejected } from '../support/oauth-error.js';

const ISSUER = 'https://as.example';
const metadata = (issuer = ISSUER, extra: Record<string, unknown> = {}) => ({
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  response_types_supported: ['code'],
  ...extra,
});

interface Seen {
  url: string;
  method: string | undefined;
  accept: string | null;
  redirect: RequestRedirect | undefined;
}

/** A scripted http: each URL answers what `routes` says (a JSON body, or a Response); anything else is 404. */
function scripted(routes: Record<string, unknown>): { http: Http; seen: Seen[] } {
  const seen: Seen[] = [];
  const http: Http = async (input, init) => {
    const url = String(input);
    seen.push({ url, method: init?.method, accept: new Headers(init?.headers).get('accept'), redirect: init?.redirect });
    const answer = routes[url];
    if (answer === undefined) return new Response('not found', { status: 404 });
    if (answer instanceof Response) return answer;
    return Response.json(answer);
  };
  return { http, seen };
}

const refusal = rejected;

describe('discoverProvider: well-known URIs', () => {
  it('RFC 8414 inserts the well-known segment between host and path; OpenID appends it; a terminating / is removed', () => {
    expect(wellKnownUrls(new URL('https://host/tenant'), 'both')).toEqual([
      'https://host/.well-known/oauth-authorization-server/tenant',
      'https://host/tenant/.well-known/openid-configuration',
    ]);
    expect(wellKnownUrls(new URL('https://host/tenant/'), 'oauth-authorization-server')).toEqual(['https://host/.well-known/oauth-authorization-server/tenant']);
    expect(wellKnownUrls(new URL('https://host'), 'openid-configuration')).toEqual(['https://host/.well-known/openid-configuration']);
    expect(wellKnownUrls(new URL('https://host/'), 'both')).toEqual(['https://host/.well-known/oauth-authorization-server', 'https://host/.well-known/openid-configuration']);
  });

  it('asks RFC 8414 first, with GET, Accept: application/json and no redirect followed', async () => {
    const { http, seen } = scripted({ 'https://as.example/.well-known/oauth-authorization-server': metadata() });
    const provider = await discoverProvider(ISSUER, { http });
    expect(seen).toEqual([{ url: 'https://as.example/.well-known/oauth-authorization-server', method: 'GET', accept: 'application/json', redirect: 'manual' }]);
    expect(provider.issuer).toBe(ISSUER);
    expect(provider.authorization?.url).toBe('https://as.example/authorize');
    expect(provider.token.url).toBe('https://as.example/token');
  });

  it('a path issuer: RFC 8414 404, then OpenID (appended) works', async () => {
    const issuer = 'https://host.example/tenant';
    const { http, seen } = scripted({ 'https://host.example/tenant/.well-known/openid-configuration': metadata(issuer) });
    const provider = await discoverProvider(issuer, { http });
    expect(seen.map((s) => s.url)).toEqual(['https://host.example/.well-known/oauth-authorization-server/tenant', 'https://host.example/tenant/.well-known/openid-configuration']);
    expect(provider).toMatchObject({ id: 'host-example-tenant', name: issuer, issuer, token: { url: `${issuer}/token` } });
  });

  it('a path issuer through RFC 8414 (inserted)', async () => {
    const issuer = 'https://host.example/tenant';
    const { http } = scripted({ 'https://host.example/.well-known/oauth-authorization-server/tenant': metadata(issuer) });
    expect((await discoverProvider(issuer, { http, wellKnown: 'oauth-authorization-server' })).issuer).toBe(issuer);
  });

  it('wellKnown names one URI only: no fallback', async () => {
    const { http, seen } = scripted({ 'https://as.example/.well-known/openid-configuration': metadata() });
    const error = await refusal(discoverProvider(ISSUER, { http, wellKnown: 'oauth-authorization-server' }));
    expect(error).toMatchObject({ code: 'invalid_response', status: 404, field: 'metadata', retryable: false });
    expect(seen).toHaveLength(1);
    expect((await discoverProvider(ISSUER, { http, wellKnown: 'openid-configuration' })).issuer).toBe(ISSUER);
  });

  it('an HTML 200 from RFC 8414 falls back to OpenID; both failing names both URLs; a 5xx is retryable', async () => {
    const { http } = scripted({
      'https://as.example/.well-known/oauth-authorization-server': new Response('<html>app</html>', { status: 200, headers: { 'content-type': 'text/html' } }),
      'https://as.example/.well-known/openid-configuration': metadata(),
    });
    expect((await discoverProvider(ISSUER, { http })).issuer).toBe(ISSUER);
    const down = scripted({
      'https://as.example/.well-known/oauth-authorization-server': new Response('[]'),
      'https://as.example/.well-known/openid-configuration': new Response('oops', { status: 503 }),
    });
    const error = await refusal(discoverProvider(ISSUER, { http: down.http }));
    expect(error).toMatchObject({ code: 'invalid_response', status: 503, retryable: true });
    expect(error.message).toContain('oauth-authorization-server answered with JSON that is not an object');
    expect(error.message).toContain('openid-configuration answered HTTP 503');
  });
});

describe('discoverProvider: the issuer (RFC 8414 §3.3)', () => {
  it('metadata for another issuer is refused, naming metadata.issuer, and no fallback hides it', async () => {
    for (const other of ['https://evil.example', 'https://as.example/', 'https://AS.example']) {
      const { http, seen } = scripted({ 'https://as.example/.well-known/oauth-authorization-server': metadata(other) });
      const error = await refusal(discoverProvider(ISSUER, { http }));
      expect(error).toMatchObject({ code: 'invalid_provider', field: 'metadata.issuer' });
      expect(error.message).toContain('RFC 8414 §3.3');
      expect(seen).toHaveLength(1);
    }
  });

  it('a missing metadata issuer is named', async () => {
    const { issuer: _drop, ...rest } = metadata();
    const { http } = scripted({ 'https://as.example/.well-known/oauth-authorization-server': rest });
    const error = await refusal(discoverProvider(ISSUER, { http }));
    expect(error).toMatchObject({ code: 'invalid_provider', field: 'metadata.issuer', message: 'metadata "issuer" is required' });
  });

  it.each([
    ['http://as.example', 'http on a public host'],
    ['https://as.example?x=1', 'a query'],
    ['https://as.example#f', 'a fragment'],
    ['as.example', 'not a URL'],
    ['https://user:pw@as.example', 'credentials'],
  ])('the issuer asked for is refused before any request: %s (%s)', async (issuer) => {
    const { http, seen } = scripted({});
    expect(await refusal(discoverProvider(issuer, { http }))).toMatchObject({ code: 'invalid_configuration', field: 'issuer' });
    expect(seen).toEqual([]);
  });

  it('http is allowed on loopback (127.0.0.1, localhost, ::1), for tests and development', async () => {
    for (const issuer of ['http://127.0.0.1:4000', 'http://localhost:4000', 'http://[::1]:4000']) {
      const { http } = scripted({ [`${issuer}/.well-known/oauth-authorization-server`]: metadata(issuer) });
      expect((await discoverProvider(issuer, { http })).token.url).toBe(`${issuer}/token`);
    }
  });
});

describe('discoverProvider: malformed metadata is invalid_provider naming the field', () => {
  const url = 'https://as.example/.well-known/oauth-authorization-server';
  const discover = (extra: Record<string, unknown>) => discoverProvider(ISSUER, { http: scripted({ [url]: metadata(ISSUER, extra) }).http });

  it.each([
    ['authorization_endpoint', 'http://as.example/authorize'],
    ['token_endpoint', 'http://as.example/token'],
    ['token_endpoint', 'ftp://as.example/token'],
    ['token_endpoint', 'not a url'],
    ['token_endpoint', 'https://as.example/token#frag'],
    ['revocation_endpoint', 'http://10.0.0.1/revoke'],
    ['device_authorization_endpoint', 'javascript:alert(1)'],
  ])('"%s": %s must be an https URL', async (field, value) => {
    const error = await refusal(discover({ [field]: value }));
    expect(error).toMatchObject({ code: 'invalid_provider', field: `metadata.${field}` });
    expect(error.message).toBe(`metadata "${field}" must be an https URL without a fragment (http only on 127.0.0.1, localhost or ::1)`);
  });

  it.each([
    ['token_endpoint', 42, 'metadata "token_endpoint" must be a string'],
    ['grant_types_supported', 'authorization_code', 'metadata "grant_types_supported" must be an array'],
    ['token_endpoint_auth_methods_supported', ['none', 7], 'metadata "token_endpoint_auth_methods_supported.1" must be a string'],
    ['code_challenge_methods_supported', {}, 'metadata "code_challenge_methods_supported" must be an array'],
    ['authorization_response_iss_parameter_supported', 'true', 'metadata "authorization_response_iss_parameter_supported" must be a boolean'],
    ['issuer', 1, 'metadata "issuer" must be a string'],
    ['scopes_supported', 'openid', 'metadata "scopes_supported" must be an array'],
  ])('"%s" of the wrong type', async (field, value, message) => {
    const error = await refusal(discover({ [field]: value }));
    expect(error).toMatchObject({ code: 'invalid_provider', field: `metadata.${field.split('.')[0]}${message.includes('.1"') ? '.1' : ''}`, message });
  });

  it('a missing token_endpoint; an authorization_code grant without authorization_endpoint; a device grant without its endpoint', async () => {
    expect(await refusal(discover({ token_endpoint: undefined }))).toMatchObject({ field: 'metadata.token_endpoint', message: 'metadata "token_endpoint" is required (or give overrides.token.url)' });
    expect(await refusal(discover({ authorization_endpoint: undefined, grant_types_supported: ['authorization_code'] }))).toMatchObject({ field: 'metadata.authorization_endpoint' });
    expect(await refusal(discover({ grant_types_supported: ['urn:ietf:params:oauth:grant-type:device_code'] }))).toMatchObject({ field: 'metadata.device_authorization_endpoint' });
  });

  it('no grant or no client authentication method grantflow has', async () => {
    expect(await refusal(discover({ grant_types_supported: ['implicit', 'password'] }))).toMatchObject({ code: 'invalid_provider', field: 'metadata.grant_types_supported' });
    expect(await refusal(discover({ token_endpoint_auth_methods_supported: ['tls_client_auth', 'client_secret_jwt'] }))).toMatchObject({
      code: 'invalid_provider',
      field: 'metadata.token_endpoint_auth_methods_supported',
    });
  });

  it('JSON null is an absent field', async () => {
    const provider = await discover({ revocation_endpoint: null, grant_types_supported: null, code_challenge_methods_supported: null });
    expect(provider.revocation).toBeUndefined();
    expect(Object.keys(provider.grants).sort()).toEqual(['authorization_code', 'refresh_token']);
  });
});

describe('discoverProvider: metadata → provider data', () => {
  const url = 'https://as.example/.well-known/oauth-authorization-server';
  const discover = (extra: Record<string, unknown>, options: Parameters<typeof discoverProvider>[1] = {}) =>
    discoverProvider(ISSUER, { http: scripted({ [url]: metadata(ISSUER, extra) }).http, ...options });

  it('RFC 8414 defaults when the metadata is silent: client_secret_basic, authorization_code (+ refresh_token), PKCE optional S256, iss not required', async () => {
    const provider = await discover({});
    expect(provider.token.authMethods).toEqual(['client_secret_basic']);
    expect(provider.grants).toEqual({ authorization_code: expect.any(Object), refresh_token: expect.any(Object) });
    expect(provider.authorization?.pkce).toEqual({ support: 'optional', methods: ['S256'] });
    expect(provider.authorization?.requiresIss).toBe(false);
    expect(provider.token.response.keep).toEqual(['id_token']);
    expect(provider.revocation).toBeUndefined();
    expect(provider.deviceAuthorization).toBeUndefined();
  });

  it('everything the metadata says', async () => {
    const provider = await discover({
      revocation_endpoint: 'https://as.example/revoke',
      revocation_endpoint_auth_methods_supported: ['client_secret_post', 'tls_client_auth'],
      device_authorization_endpoint: 'https://as.example/device',
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_jwt', 'client_secret_post', 'none', 'client_secret_basic'],
      code_challenge_methods_supported: ['plain', 'S256'],
      grant_types_supported: ['authorization_code', 'implicit', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
      scopes_supported: ['openid', 'profile'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(provider.token.authMethods).toEqual(['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt']);
    expect(provider.authorization?.pkce).toEqual({ support: 'required', methods: ['S256', 'plain'] });
    expect(provider.authorization?.requiresIss).toBe(true);
    expect(provider.revocation).toEqual({ url: 'https://as.example/revoke', body: 'form', authMethods: ['client_secret_post'] });
    expect(provider.deviceAuthorization).toEqual({ url: 'https://as.example/device' });
    expect(Object.keys(provider.grants).sort()).toEqual(['authorization_code', 'client_credentials', 'device_code', 'refresh_token']);
    // scopes_supported is informational only
    expect(provider.grants.authorization_code?.default).toEqual([]);
  });

  it('grant_types_supported decides: refresh_token only when listed; a device endpoint without the listed URN gives no device grant', async () => {
    const provider = await discover({ grant_types_supported: ['authorization_code'], device_authorization_endpoint: 'https://as.example/device' });
    expect(Object.keys(provider.grants)).toEqual(['authorization_code']);
    expect(provider.deviceAuthorization?.url).toBe('https://as.example/device');
    const serviceOnly = await discover({ authorization_endpoint: undefined, grant_types_supported: ['client_credentials'] });
    expect(serviceOnly.authorization).toBeUndefined();
    expect(Object.keys(serviceOnly.grants)).toEqual(['client_credentials']);
  });

  it('PKCE: only plain → required plain; only unknown methods → unsupported; empty → optional S256', async () => {
    expect((await discover({ code_challenge_methods_supported: ['plain'] })).authorization?.pkce).toEqual({ support: 'required', methods: ['plain'] });
    expect((await discover({ code_challenge_methods_supported: ['S512'] })).authorization?.pkce).toEqual({ support: 'unsupported', methods: [] });
    expect((await discover({ code_challenge_methods_supported: [] })).authorization?.pkce).toEqual({ support: 'optional', methods: ['S256'] });
  });

  it('overrides: merged field by field, arrays replaced; they may fill what the metadata lacks', async () => {
    const provider = await discover(
      { token_endpoint_auth_methods_supported: ['tls_client_auth'] },
      {
        id: 'corp',
        name: 'Corp',
        overrides: {
          token: { authMethods: ['client_secret_post'], response: { keep: ['id_token', 'user_id'] } },
          grants: { authorization_code: { default: ['openid'] }, client_credentials: {} },
          headers: { 'X-Api-Version': '2' },
          authorization: { codeLifetimeMs: 60_000 },
        },
      },
    );
    expect(provider).toMatchObject({ id: 'corp', name: 'Corp', headers: { 'X-Api-Version': '2' } });
    expect(provider.token.authMethods).toEqual(['client_secret_post']);
    expect(provider.token.response).toEqual({ credential: 'access_token', expiresIn: 'expires_in', keep: ['id_token', 'user_id'] });
    expect(provider.grants.authorization_code?.default).toEqual(['openid']);
    expect(provider.grants.client_credentials).toBeDefined();
    expect(provider.authorization).toMatchObject({ url: 'https://as.example/authorize', codeLifetimeMs: 60_000, requiresIss: false });
    const noToken = await discover({ token_endpoint: undefined }, { overrides: { token: { url: 'https://as.example/oauth/token' } } });
    expect(noToken.token.url).toBe('https://as.example/oauth/token');
  });

  it('overrides cannot change issuer, id or name; a bad override is invalid_provider with its path', async () => {
    for (const name of ['issuer', 'id', 'name']) {
      const error = await refusal(discover({}, { overrides: { [name]: 'x' } as never }));
      expect(error).toMatchObject({ code: 'invalid_configuration', field: `overrides.${name}` });
    }
    expect(await refusal(discover({}, { overrides: { token: { body: 'xml' as never } } }))).toMatchObject({ code: 'invalid_provider', field: 'token.body' });
  });

  it('the result is plain JSON: JSON.stringify, then parseProvider gives equal data back', async () => {
    const provider = await discover({ authorization_response_iss_parameter_supported: true, revocation_endpoint: 'https://as.example/revoke' });
    const cached = JSON.stringify(provider);
    expect(parseProvider(JSON.parse(cached))).toEqual(provider);
  });
});

describe('discoverProvider: the iss rule follows the metadata (RFC 9207 §2.4)', () => {
  const url = 'https://as.example/.well-known/oauth-authorization-server';
  const good = 'https://app/cb?code=C&state=S1';
  const withIss = (iss: string) => `${good}&iss=${encodeURIComponent(iss)}`;

  it('authorization_response_iss_parameter_supported: true → a callback without iss is refused; a wrong one too', async () => {
    const provider = await discoverProvider(ISSUER, { http: scripted({ [url]: metadata(ISSUER, { authorization_response_iss_parameter_supported: true }) }).http });
    expect(checkCallback(withIss(ISSUER), { provider, state: 'S1' })).toBe('C');
    expect(() => checkCallback(good, { provider, state: 'S1' })).toThrow(expect.objectContaining({ code: 'invalid_callback', field: 'callback.iss' }));
    expect(() => checkCallback(withIss('https://evil.example'), { provider, state: 'S1' })).toThrow(expect.objectContaining({ field: 'callback.iss' }));
  });

  it.each([false, undefined])('authorization_response_iss_parameter_supported: %s → a callback without iss is accepted; a wrong one still refused', async (supported) => {
    const provider = await discoverProvider(ISSUER, {
      http: scripted({ [url]: metadata(ISSUER, supported === undefined ? {} : { authorization_response_iss_parameter_supported: supported }) }).http,
    });
    expect(checkCallback(good, { provider, state: 'S1' })).toBe('C');
    expect(checkCallback(withIss(ISSUER), { provider, state: 'S1' })).toBe('C');
    expect(() => checkCallback(withIss('https://evil.example'), { provider, state: 'S1' })).toThrow(expect.objectContaining({ code: 'invalid_callback', field: 'callback.iss' }));
  });
});

describe('discoverProvider: through sendRequest', () => {
  it('a server that does not answer within timeoutMs is timeout (retryable)', async () => {
    const hanging: Http = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    const error = await refusal(discoverProvider(ISSUER, { http: hanging, timeoutMs: 30 }));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
  });

  it('a metadata document larger than maxResponseBytes is refused (invalid_response), the 1 MiB default too', async () => {
    const big = JSON.stringify(metadata(ISSUER, { padding: 'x'.repeat(2000) }));
    const { http } = scripted({ 'https://as.example/.well-known/oauth-authorization-server': new Response(big) });
    expect(await refusal(discoverProvider(ISSUER, { http, maxResponseBytes: 1000 }))).toMatchObject({ code: 'invalid_response', field: 'response.body' });
    const huge = scripted({ 'https://as.example/.well-known/oauth-authorization-server': new Response(JSON.stringify(metadata(ISSUER, { padding: 'x'.repeat(1_100_000) }))) });
    expect(await refusal(discoverProvider(ISSUER, { http: huge.http }))).toMatchObject({ code: 'invalid_response', field: 'response.body' });
  });

  it('a network failure is network_error; an aborted signal is cancelled', async () => {
    const failing: Http = async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    };
    expect(await refusal(discoverProvider(ISSUER, { http: failing }))).toMatchObject({ code: 'network_error', requestSent: false, retryable: true });
    const controller = new AbortController();
    controller.abort();
    expect(await refusal(discoverProvider(ISSUER, { http: scripted({}).http, signal: controller.signal }))).toMatchObject({ code: 'cancelled' });
  });

  it('bad options are invalid_configuration naming the option', async () => {
    const { http } = scripted({});
    expect(await refusal(discoverProvider(ISSUER, { http, timeoutMs: -1 }))).toMatchObject({ code: 'invalid_configuration', field: 'timeoutMs' });
    expect(await refusal(discoverProvider(ISSUER, { http, wellKnown: 'webfinger' as never }))).toMatchObject({ code: 'invalid_configuration', field: 'wellKnown' });
  });

  it('no network at import time', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    vi.resetModules();
    await import('../../src/discovery/discover.js');
    await import('../../src/index.js');
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });
});
