import { describe, expect, it } from 'vitest';
import { authorizationParams, buildAuthorizationUrl, buildPushedAuthorizationUrl, redirectUriToSend, type AuthorizationUrlOptions } from '../../src/provider/authorization-url.js';
import { parseProvider } from '../../src/provider/parse.js';
import { genericOAuth2, openRouter, poe } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

/**
 * Written against the survivors of a mutation run over src/provider/authorization-url.ts: the
 * exact URL (parameter order and encoding), the endpoint's own query, every reserved parameter,
 * nonce and resource, and the provider without an authorization endpoint.
 */

const generic = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/token' });
const tokenOnly = genericOAuth2({ id: 'svc', tokenEndpoint: 'https://as.example/token' });
const pkce = { verifier: 'v', challenge: 'CH', method: 'S256' as const };
const base = (overrides: Partial<AuthorizationUrlOptions> = {}): AuthorizationUrlOptions => ({
  provider: generic,
  clientId: 'app',
  redirectUri: 'https://app.example/cb',
  scopes: ['a', 'b'],
  state: 'S',
  ...overrides,
});

describe('buildAuthorizationUrl: the exact URL', () => {
  it('every parameter, in order, form-encoded', () => {
    const url = buildAuthorizationUrl(base({ pkce, nonce: 'N', resource: ['https://r1.example/', 'https://r2.example/'], extraParams: { prompt: 'consent', login_hint: 'a b' } }));
    expect(url).toBe(
      'https://as.example/authorize?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=a+b&state=S' +
        '&code_challenge=CH&code_challenge_method=S256&nonce=N&resource=https%3A%2F%2Fr1.example%2F&resource=https%3A%2F%2Fr2.example%2F&prompt=consent&login_hint=a+b',
    );
  });
  it('without PKCE, nonce, resource or extras, only the core parameters', () => {
    expect(buildAuthorizationUrl(base())).toBe('https://as.example/authorize?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=a+b&state=S');
    expect(buildAuthorizationUrl(base({ resource: [] }))).not.toContain('resource');
  });
  it('no scopes: no scope parameter at all (not an empty one)', () => {
    const url = buildAuthorizationUrl(base({ scopes: [] }));
    expect(new URL(url).searchParams.has('scope')).toBe(false);
  });
  it('the provider\'s scope separator joins the scopes', () => {
    const comma = parseProvider({ ...generic, authorization: { ...generic.authorization!, scopeSeparator: ',' } });
    expect(new URL(buildAuthorizationUrl(base({ provider: comma }))).searchParams.get('scope')).toBe('a,b');
  });
  it('a provider that sends no scope gets none, even with scopes asked', () => {
    const noScope = parseProvider({ ...generic, authorization: { ...generic.authorization!, sendsScope: false } });
    expect(new URL(buildAuthorizationUrl(base({ provider: noScope }))).searchParams.has('scope')).toBe(false);
  });
  it('the PKCE method is the pair\'s own (plain)', () => {
    const url = new URL(buildAuthorizationUrl(base({ pkce: { verifier: 'v', challenge: 'v', method: 'plain' } })));
    expect(url.searchParams.get('code_challenge')).toBe('v');
    expect(url.searchParams.get('code_challenge_method')).toBe('plain');
  });
  it('the endpoint\'s own query is kept; a parameter of the request replaces one of the same name there', () => {
    const withQuery = parseProvider({ ...generic, authorization: { ...generic.authorization!, url: 'https://as.example/authorize?tenant=t1&state=old&scope=x&scope=y' } });
    const url = buildAuthorizationUrl(base({ provider: withQuery }));
    expect(url).toBe('https://as.example/authorize?tenant=t1&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=a+b&state=S');
  });
  it('a repeated request parameter (resource) replaces the endpoint\'s and keeps all its values', () => {
    const withQuery = parseProvider({ ...generic, authorization: { ...generic.authorization!, url: 'https://as.example/authorize?resource=old' } });
    const url = new URL(buildAuthorizationUrl(base({ provider: withQuery, resource: ['r1', 'r2'] })));
    expect(url.searchParams.getAll('resource')).toEqual(['r1', 'r2']);
  });
  it('a provider without an authorization endpoint is invalid_provider naming it', () => {
    const e = thrown(() => buildAuthorizationUrl(base({ provider: tokenOnly })));
    expect(e).toMatchObject({ code: 'invalid_provider', field: 'provider.authorization', message: 'provider "svc" has no authorization endpoint' });
    expect(thrown(() => authorizationParams(base({ provider: tokenOnly })))).toMatchObject({ code: 'invalid_provider', field: 'provider.authorization' });
    expect(thrown(() => buildPushedAuthorizationUrl(tokenOnly, 'app', 'urn:x'))).toMatchObject({ code: 'invalid_provider', field: 'provider.authorization' });
  });
});

describe('providers without a state parameter (OpenRouter)', () => {
  it('redirectUriToSend adds the state to the redirect URL\'s query, replacing one there', () => {
    expect(redirectUriToSend(openRouter, 'http://localhost:3000/cb?keep=1&state=old', 'S')).toBe('http://localhost:3000/cb?keep=1&state=S');
    expect(redirectUriToSend(openRouter, 'http://localhost:3000/cb', 'S')).toBe('http://localhost:3000/cb?state=S');
  });
  it('it leaves the redirect URI byte-for-byte where the state has its own parameter, or there is no authorization endpoint', () => {
    expect(redirectUriToSend(poe, 'https://app/cb?x=a%20b', 'S')).toBe('https://app/cb?x=a%20b');
    expect(redirectUriToSend(tokenOnly, 'https://app/cb?x=a%20b', 'S')).toBe('https://app/cb?x=a%20b');
  });
  it('the exact OpenRouter URL: callback_url with the state, and PKCE', () => {
    expect(buildAuthorizationUrl({ ...base({ provider: openRouter, pkce }), redirectUri: 'http://localhost:3000/cb' })).toBe(
      'https://openrouter.ai/auth?callback_url=http%3A%2F%2Flocalhost%3A3000%2Fcb%3Fstate%3DS&code_challenge=CH&code_challenge_method=S256',
    );
  });
});

describe('buildPushedAuthorizationUrl (RFC 9126 §4)', () => {
  it('carries only client_id and request_uri, replacing those of the endpoint\'s query', () => {
    expect(buildPushedAuthorizationUrl(generic, 'app', 'urn:ietf:params:oauth:request_uri:abc')).toBe(
      'https://as.example/authorize?client_id=app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc',
    );
    const withQuery = parseProvider({ ...generic, authorization: { ...generic.authorization!, url: 'https://as.example/authorize?client_id=old&x=1' } });
    expect(buildPushedAuthorizationUrl(withQuery, 'app', 'urn:r')).toBe('https://as.example/authorize?client_id=app&x=1&request_uri=urn%3Ar');
  });
});

describe('extraParams', () => {
  it.each(['client_id', 'redirect_uri', 'callback_url', 'response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'resource', 'request_uri'])(
    '"%s" is grantflow\'s: invalid_configuration naming it',
    (name) => {
      const e = thrown(() => authorizationParams(base({ extraParams: { [name]: 'x' } })));
      expect(e).toMatchObject({ code: 'invalid_configuration', field: `extraParams.${name}`, message: `extraParams may not set "${name}": grantflow sets it` });
    },
  );
  it('nonce may be set by extraParams only when grantflow sends none', () => {
    expect(authorizationParams(base({ extraParams: { nonce: 'mine' } })).getAll('nonce')).toEqual(['mine']);
    expect(thrown(() => authorizationParams(base({ nonce: 'N', extraParams: { nonce: 'mine' } })))).toMatchObject({
      code: 'invalid_configuration',
      field: 'extraParams.nonce',
      message: 'extraParams may not set "nonce": grantflow sets it',
    });
  });
  it('a value that is not a string is refused with its name in the message', () => {
    expect(thrown(() => authorizationParams(base({ extraParams: { max_age: 5 as never } })))).toMatchObject({
      code: 'invalid_configuration',
      field: 'extraParams.max_age',
      message: 'extraParams.max_age must be a string',
    });
  });
  it('other names pass through, an empty value too', () => {
    expect([...authorizationParams(base({ scopes: [], extraParams: { prompt: '', acr_values: 'x' } }))]).toEqual([
      ['client_id', 'app'],
      ['redirect_uri', 'https://app.example/cb'],
      ['response_type', 'code'],
      ['state', 'S'],
      ['prompt', ''],
      ['acr_values', 'x'],
    ]);
  });
});
