import { describe, expect, it } from 'vitest';
import { euRouter, openRouter, pathOfExile, poe, poems } from '../../src/providers/index.js';

// Each expectation cites the provider's own document in ../shared/providers/.
describe('built-in providers follow their documents', () => {
  it('Poe (poe.txt): PKCE S256 mandatory, form body, api_key + api_key_expires_in, scope apikey:create, server_error safe to retry', () => {
    expect(poe.authorization).toMatchObject({ url: 'https://poe.com/oauth/authorize', redirectParam: 'redirect_uri', sendsState: true, pkce: { support: 'required', methods: ['S256'] } });
    expect(poe.token).toMatchObject({ url: 'https://api.poe.com/token', body: 'form', sendsGrantType: true, sendsRedirectUri: true, authMethods: ['none'] });
    expect(poe.token.response).toMatchObject({ credential: 'api_key', expiresIn: 'api_key_expires_in' });
    expect(poe.token.retryableErrors).toEqual(['server_error']);
    expect(poe.grants.authorization_code).toMatchObject({ required: ['apikey:create'], allowed: ['apikey:create'] });
  });

  it('Path of Exile (path-of-exile.txt): PKCE for every client, client_secret_post only, User-Agent, account/service scopes', () => {
    expect(pathOfExile.authorization?.pkce).toEqual({ support: 'required', methods: ['S256'] });
    expect(pathOfExile.token.authMethods).not.toContain('client_secret_basic');
    expect(pathOfExile.token.authMethods).toContain('client_secret_post');
    expect(pathOfExile.userAgent).toEqual({ required: true, template: 'OAuth {clientId}/{version} (contact: {contact})' });
    expect(pathOfExile.grants.authorization_code?.forbidden).toContain('service:*');
    expect(pathOfExile.grants.client_credentials).toMatchObject({ allowed: ['service:*'], confidentialClientsOnly: true });
    expect(pathOfExile.grants.refresh_token).toBeDefined();
  });

  it('OpenRouter (openrouter.md): callback_url, no client id/scope/state, optional PKCE S256 or plain, JSON exchange at /api/v1/auth/keys → key, 400/403/405', () => {
    expect(openRouter.authorization).toMatchObject({
      url: 'https://openrouter.ai/auth',
      redirectParam: 'callback_url',
      sendsClientId: false,
      sendsScope: false,
      sendsState: false,
      sendsResponseType: false,
      pkce: { support: 'optional', methods: ['S256', 'plain'] },
    });
    expect(openRouter.token).toMatchObject({ url: 'https://openrouter.ai/api/v1/auth/keys', body: 'json', sendsGrantType: false, sendsClientId: false, sendsCodeChallengeMethod: true });
    expect(openRouter.token.response).toMatchObject({ credential: 'key', expiresIn: null });
    expect(openRouter.token.statusErrors).toEqual({ '400': 'invalid_request', '403': 'invalid_grant', '405': 'invalid_request' });
  });

  it('EUrouter (eurouter.txt): PKCE required (S256 default, plain allowed), JSON exchange → key + user_id, 10-minute codes, 400/403/405', () => {
    expect(euRouter.authorization).toMatchObject({ url: 'https://api.eurouter.ai/api/v1/auth', redirectParam: 'callback_url', pkce: { support: 'required', methods: ['S256', 'plain'] }, codeLifetimeMs: 600_000 });
    expect(euRouter.token).toMatchObject({ url: 'https://api.eurouter.ai/api/v1/auth/keys', body: 'json', sendsCodeChallengeMethod: true });
    expect(euRouter.token.response).toMatchObject({ credential: 'key', keep: ['user_id'] });
    expect(euRouter.token.statusErrors).toEqual({ '400': 'invalid_request', '403': 'invalid_grant', '405': 'invalid_request' });
  });

  it('POEMS (poems.txt): sandbox endpoints, HTTP Basic for the code grant, an RS256 assertion for client credentials', () => {
    expect(poems.authorization?.url).toBe('https://sandboxapi.poems.com.sg/api-gateway/pspl/auth/1.0/oauth/authorize');
    expect(poems.token.url).toBe('https://sandboxapi.poems.com.sg/api-gateway/pspl/auth/1.0/oauth/token');
    expect(poems.token.authMethods).toEqual(['client_secret_basic', 'private_key_jwt']);
    expect(poems.grants.client_credentials?.confidentialClientsOnly).toBe(true);
  });
});
