import { describe, expect, it } from 'vitest';
import { createOAuthClient, memoryStorage } from '../../src/index.js';
import { genericOAuth2 } from '../../src/providers/index.js';

/** A token endpoint that records how the client authenticated. */
function recorder() {
  const seen: Array<{ authorization: string | null; body: URLSearchParams }> = [];
  const http = (async (_url: string | URL | Request, init?: RequestInit) => {
    seen.push({ authorization: new Headers(init?.headers).get('authorization'), body: new URLSearchParams(String(init?.body)) });
    return Response.json({ access_token: 'at', token_type: 'Bearer', expires_in: 3600 });
  }) as typeof fetch;
  return { http, seen };
}

const both = genericOAuth2({ id: 'as', tokenEndpoint: 'https://as.example/token', authMethods: ['client_secret_basic', 'client_secret_post'] });

describe('the client chooses its authentication where the provider allows several', () => {
  it('the provider’s first by default (basic); client_secret_post when the client says so', async () => {
    const basic = recorder();
    await createOAuthClient({ provider: both, clientId: 'svc', clientSecret: 's3', http: basic.http, storage: memoryStorage() }).clientCredentials();
    expect(basic.seen[0]!.authorization).toMatch(/^Basic /);
    expect(basic.seen[0]!.body.has('client_secret')).toBe(false);
    const post = recorder();
    await createOAuthClient({ provider: both, clientId: 'svc', clientSecret: 's3', authMethod: 'client_secret_post', http: post.http, storage: memoryStorage() }).clientCredentials();
    expect(post.seen[0]!.authorization).toBeNull();
    expect(post.seen[0]!.body.get('client_secret')).toBe('s3');
  });

  it('a method the provider does not accept, or one the secrets cannot do, is invalid_configuration naming client.authMethod, before anything is sent', async () => {
    const none = recorder();
    const refused = createOAuthClient({ provider: both, clientId: 'svc', clientSecret: 's3', authMethod: 'private_key_jwt', http: none.http, storage: memoryStorage() });
    await expect(refused.clientCredentials()).rejects.toMatchObject({ code: 'invalid_configuration', field: 'client.authMethod' });
    const withCode = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/token', authMethods: ['none', 'client_secret_post'] });
    const noSecret = createOAuthClient({ provider: withCode, clientId: 'app', redirectUri: 'https://app.example/cb', authMethod: 'client_secret_post', http: none.http, storage: memoryStorage() });
    // Refused when the flow starts, before the user approves.
    await expect(noSecret.startAuthorization()).rejects.toMatchObject({ code: 'invalid_configuration', field: 'client.authMethod' });
    expect(none.seen).toHaveLength(0);
  });

  it('genericOAuth2 says what a server without error bodies means, which errors are safe to retry, the assertion audience and reusable refresh tokens', () => {
    const p = genericOAuth2({ issuer: 'https://as.example', tokenEndpoint: 'https://as.example/token', statusErrors: { 400: 'invalid_grant' }, retryableErrors: ['server_error'], assertionAudience: 'issuer', refreshTokensReusable: true });
    expect(p.token).toMatchObject({ statusErrors: { 400: 'invalid_grant' }, retryableErrors: ['server_error'], assertionAudience: 'issuer', refreshTokensReusable: true });
  });
});
