import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseProvider } from '../../src/provider/parse.js';
import { buildTokenRequest, type BuildTokenRequestOptions } from '../../src/provider/token-request.js';
import { genericOAuth2, openRouter, pathOfExile, poems } from '../../src/providers/index.js';

/**
 * Written against the survivors of a mutation run over src/provider/token-request.ts: the exact
 * request (url, method, headers, body) for form and JSON bodies, repeated and empty list
 * parameters, the API key rule in both places, and the User-Agent default.
 */

const generic = genericOAuth2({ id: 'as', tokenEndpoint: 'https://as.example/token' });
const client = { clientId: 'app' };
const build = (overrides: Partial<BuildTokenRequestOptions> = {}) =>
  buildTokenRequest({ provider: generic, client, secrets: {}, auth: 'none', grantType: 'refresh_token', params: { refresh_token: 'rt' }, ...overrides });

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('buildTokenRequest: the exact request', () => {
  it('form: POST to the token URL, accept JSON, form content type, grant_type first, then the params, then client_id', () => {
    expect(build({ params: { refresh_token: 'r t', scope: 'a b' } })).toEqual({
      url: 'https://as.example/token',
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=r+t&scope=a+b&client_id=app',
    });
  });
  it('JSON: the same fields as one object, JSON content type', () => {
    const json = parseProvider({ ...generic, token: { ...generic.token, body: 'json' } });
    expect(build({ provider: json, params: { refresh_token: 'rt', resource: ['r1', 'r2'] } })).toEqual({
      url: 'https://as.example/token',
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: '{"grant_type":"refresh_token","refresh_token":"rt","resource":["r1","r2"],"client_id":"app"}',
    });
  });
  it('a list parameter is repeated in a form (RFC 8707 resource); an empty list or undefined is left out', () => {
    expect(build({ params: { refresh_token: 'rt', resource: ['https://r1.example/', 'https://r2.example/'], scope: undefined } }).body).toBe(
      'grant_type=refresh_token&refresh_token=rt&resource=https%3A%2F%2Fr1.example%2F&resource=https%3A%2F%2Fr2.example%2F&client_id=app',
    );
    expect(build({ params: { refresh_token: 'rt', resource: [] } }).body).toBe('grant_type=refresh_token&refresh_token=rt&client_id=app');
    const json = parseProvider({ ...generic, token: { ...generic.token, body: 'json' } });
    expect(JSON.parse(build({ provider: json, params: { refresh_token: 'rt', resource: [] } }).body)).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt', client_id: 'app' });
  });
  it('an empty string parameter is sent (it is a value)', () => {
    expect(build({ params: { refresh_token: '' } }).body).toBe('grant_type=refresh_token&refresh_token=&client_id=app');
  });
  it('no grant_type where the provider sends none (OpenRouter)', () => {
    expect(build({ provider: openRouter, grantType: 'authorization_code', params: { code: 'c' } }).body).toBe('{"code":"c"}');
  });
  it('the authentication\'s fields override a parameter of the same name', () => {
    const request = build({ provider: pathOfExile, auth: 'client_secret_post', secrets: { clientSecret: 's' }, params: { refresh_token: 'rt', client_id: 'other' } });
    expect(request.body).toBe('grant_type=refresh_token&refresh_token=rt&client_id=app&client_secret=s');
  });
  it('the authentication\'s headers are added (client_secret_basic)', () => {
    const request = build({ provider: poems, auth: 'client_secret_basic', secrets: { clientSecret: 's' } });
    expect(request.headers).toEqual({ accept: 'application/json', authorization: `Basic ${btoa('app:s')}`, 'content-type': 'application/x-www-form-urlencoded' });
    expect(request.body).toBe('grant_type=refresh_token&refresh_token=rt');
  });
  it('private_key_jwt sends the assertion it is given', () => {
    const request = build({ provider: poems, auth: 'private_key_jwt', grantType: 'client_credentials', params: {}, assertion: 'a.b.c' });
    expect(request.body).toBe('grant_type=client_credentials&client_id=app&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c');
  });
});

describe('buildTokenRequest: headers', () => {
  it('provider headers are sent with lower-case names', () => {
    const provider = genericOAuth2({ tokenEndpoint: 'https://as.example/t', headers: { 'X-Tenant': 'T1', Accept: 'application/jwt' } });
    expect(build({ provider }).headers).toEqual({ accept: 'application/jwt', 'x-tenant': 'T1', 'content-type': 'application/x-www-form-urlencoded' });
  });
  it('the User-Agent is sent by default where the runtime can (Node), not in a page, and always when asked', () => {
    const withUa = { clientId: 'app', userAgent: 'OAuth app/1 (contact: x)' };
    expect(build({ client: withUa }).headers['user-agent']).toBe('OAuth app/1 (contact: x)');
    vi.stubGlobal('document', {});
    expect(build({ client: withUa }).headers).not.toHaveProperty('user-agent');
    expect(build({ client: withUa, userAgentHeader: true }).headers['user-agent']).toBe('OAuth app/1 (contact: x)');
  });
  it('no User-Agent header without a client userAgent', () => {
    expect(build({ userAgentHeader: true }).headers).not.toHaveProperty('user-agent');
  });
});

describe('buildTokenRequest: the API key rule', () => {
  const withKey = (where: 'header' | 'body') => parseProvider({ ...poems, apiKey: { in: where, name: 'X-Api-Key', required: true } });
  it('in a header: lower-cased name, not in the body', () => {
    const request = build({ provider: withKey('header'), auth: 'client_secret_basic', secrets: { clientSecret: 's', apiKey: 'gk' } });
    expect(request.headers['x-api-key']).toBe('gk');
    expect(request.headers).not.toHaveProperty('X-Api-Key');
    expect(request.body).toBe('grant_type=refresh_token&refresh_token=rt');
  });
  it('in the body: under its name as written, not in a header', () => {
    const request = build({ provider: withKey('body'), auth: 'client_secret_basic', secrets: { clientSecret: 's', apiKey: 'gk' } });
    expect(request.body).toBe('grant_type=refresh_token&refresh_token=rt&X-Api-Key=gk');
    expect(request.headers).not.toHaveProperty('x-api-key');
  });
  it('nothing without the key, and nothing without the rule', () => {
    const noKey = build({ provider: withKey('header'), auth: 'client_secret_basic', secrets: { clientSecret: 's' } });
    expect(noKey.headers).not.toHaveProperty('x-api-key');
    expect(build({ provider: withKey('body'), auth: 'client_secret_basic', secrets: { clientSecret: 's' } }).body).toBe('grant_type=refresh_token&refresh_token=rt');
    const noRule = build({ secrets: { apiKey: 'gk' } });
    expect(noRule.body).toBe('grant_type=refresh_token&refresh_token=rt&client_id=app');
    expect(Object.values(noRule.headers)).not.toContain('gk');
  });
});
