import { describe, expect, it } from 'vitest';
import { chooseClientAuth } from '../../src/provider/client-auth.js';
import { buildTokenRequest } from '../../src/provider/token-request.js';
import { genericOAuth2, openRouter, pathOfExile, poe, poems } from '../../src/providers/index.js';

const client = { clientId: 'my app', redirectUri: 'https://app.example/cb' };
const params = { code: 'c', redirect_uri: client.redirectUri, code_verifier: 'v' };

describe('buildTokenRequest', () => {
  it('form body with grant_type and client_id for a public client (Poe)', () => {
    const request = buildTokenRequest({ provider: poe, client, secrets: {}, auth: 'none', grantType: 'authorization_code', params });
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({ grant_type: 'authorization_code', ...params, client_id: 'my app' });
    expect(request.headers.authorization).toBeUndefined();
  });

  it('JSON body without grant_type or client_id (OpenRouter); undefined params are left out', () => {
    const request = buildTokenRequest({ provider: openRouter, client, secrets: {}, auth: 'none', grantType: 'authorization_code', params: { code: 'c', code_verifier: 'v', code_challenge_method: 'S256', redirect_uri: undefined } });
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual({ code: 'c', code_verifier: 'v', code_challenge_method: 'S256' });
  });

  it('client_secret_post puts id and secret in the body', () => {
    const request = buildTokenRequest({ provider: pathOfExile, client, secrets: { clientSecret: 's3cret' }, auth: 'client_secret_post', grantType: 'authorization_code', params });
    const body = Object.fromEntries(new URLSearchParams(request.body));
    expect(body).toMatchObject({ client_id: 'my app', client_secret: 's3cret' });
    expect(request.headers.authorization).toBeUndefined();
  });

  it('client_secret_basic form-encodes id and secret before base64 (RFC 6749 §2.3.1)', () => {
    const request = buildTokenRequest({ provider: poems, client, secrets: { clientSecret: 'p@ss:wörd %' }, auth: 'client_secret_basic', grantType: 'authorization_code', params });
    const decoded = new TextDecoder().decode(Uint8Array.from(atob(request.headers.authorization!.slice(6)), (c) => c.charCodeAt(0)));
    expect(decoded).toBe('my+app:p%40ss%3Aw%C3%B6rd+%25');
    expect(new URLSearchParams(request.body).get('client_secret')).toBeNull();
  });

  it('sends the client User-Agent and the provider headers', () => {
    const provider = genericOAuth2({ tokenEndpoint: 'https://as.example/t', headers: { 'X-Api-Key': 'k' } });
    const request = buildTokenRequest({ provider, client: { ...client, userAgent: 'OAuth a/1 (contact: x)' }, secrets: {}, auth: 'none', grantType: 'authorization_code', params });
    expect(request.headers['user-agent']).toBe('OAuth a/1 (contact: x)');
    expect(request.headers['x-api-key']).toBe('k');
  });
});

describe('chooseClientAuth', () => {
  it('picks by the provider’s list and the secrets given', () => {
    expect(chooseClientAuth(poe, {})).toBe('none');
    expect(chooseClientAuth(pathOfExile, {})).toBe('none');
    expect(chooseClientAuth(pathOfExile, { clientSecret: 's' })).toBe('client_secret_post');
    expect(chooseClientAuth(poems, { clientSecret: 's' })).toBe('client_secret_basic');
    expect(chooseClientAuth(poems, { privateKey: 'pem' })).toBe('private_key_jwt');
  });
  it('a secret for a provider that takes none, or none where one is required, is invalid_configuration naming the field', () => {
    expect(() => chooseClientAuth(poe, { clientSecret: 's' })).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'secrets.clientSecret' }));
    expect(() => chooseClientAuth(poems, {})).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'secrets.clientSecret' }));
  });
});
