import { describe, expect, it } from 'vitest';
import { buildAuthorizationUrl } from '../../src/provider/authorization-url.js';
import { euRouter, openRouter, pathOfExile, poe } from '../../src/providers/index.js';

const pkce = { verifier: 'v', challenge: 'CH', method: 'S256' as const };
const params = (url: string) => Object.fromEntries(new URL(url).searchParams);

describe('buildAuthorizationUrl', () => {
  it('Poe: the six documented parameters and state', () => {
    const url = buildAuthorizationUrl({ provider: poe, clientId: 'c', redirectUri: 'https://app/cb', scopes: ['apikey:create'], state: 'S', pkce });
    expect(url.startsWith('https://poe.com/oauth/authorize?')).toBe(true);
    expect(params(url)).toEqual({ client_id: 'c', redirect_uri: 'https://app/cb', response_type: 'code', scope: 'apikey:create', state: 'S', code_challenge: 'CH', code_challenge_method: 'S256' });
  });
  it('the redirect URI is sent byte-for-byte', () => {
    const redirectUri = 'https://app/cb?x=1&y=a%20b';
    expect(params(buildAuthorizationUrl({ provider: pathOfExile, clientId: 'c', redirectUri, scopes: [], state: 'S', pkce })).redirect_uri).toBe(redirectUri);
  });
  it.each([openRouter, euRouter])('$name: callback_url carries the state in its own query; no client_id, scope, state or response_type', (provider) => {
    const url = buildAuthorizationUrl({ provider, clientId: 'c', redirectUri: 'http://localhost:3000/cb?keep=1', scopes: ['ignored'], state: 'S', pkce });
    const p = params(url);
    expect(Object.keys(p).sort()).toEqual(['callback_url', 'code_challenge', 'code_challenge_method']);
    expect(Object.fromEntries(new URL(p.callback_url!).searchParams)).toEqual({ keep: '1', state: 'S' });
  });
  it('extraParams are added but may not override what grantflow sets', () => {
    expect(params(buildAuthorizationUrl({ provider: pathOfExile, clientId: 'c', redirectUri: 'https://app/cb', scopes: [], state: 'S', pkce, extraParams: { prompt: 'consent' } })).prompt).toBe('consent');
    expect(() => buildAuthorizationUrl({ provider: pathOfExile, clientId: 'c', redirectUri: 'https://app/cb', scopes: [], state: 'S', pkce, extraParams: { state: 'x' } })).toThrow(
      expect.objectContaining({ code: 'invalid_configuration', field: 'extraParams.state' }),
    );
    expect(() => buildAuthorizationUrl({ provider: pathOfExile, clientId: 'c', redirectUri: 'https://app/cb', scopes: [], state: 'S', pkce, extraParams: { n: 5 as never } })).toThrow(
      expect.objectContaining({ code: 'invalid_configuration', field: 'extraParams.n' }),
    );
  });
});
