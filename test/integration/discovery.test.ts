import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOAuthClient, discoverProvider, memoryStorage, parseProvider, type Http, type Provider } from '../../src/index.js';
import { startOidcServer, type OidcServer } from '../../src/cli/oidc-server.js';

/**
 * discoverProvider against oidc-provider over real HTTP on 127.0.0.1: it serves both RFC 8414's
 * and OpenID's well-known URIs (the 404 → OpenID fallback is in test/unit/discovery.test.ts), advertises
 * `authorization_response_iss_parameter_supported: true` and sends `iss` on every callback; the
 * discovered provider then runs a full code + PKCE flow through createOAuthClient.
 */
const redirectUri = 'http://127.0.0.1:8766/callback';
let server: OidcServer;
let provider: Provider;
const asked: Array<{ url: string; status: number }> = [];

beforeAll(async () => {
  server = await startOidcServer({
    clients: [
      { client_id: 'public-app', token_endpoint_auth_method: 'none', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
      { client_id: 'post-app', client_secret: 'post-secret-0123456789', token_endpoint_auth_method: 'client_secret_post', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    ],
  });
  const http: Http = async (input, init) => {
    const response = await fetch(input, init);
    asked.push({ url: String(input), status: response.status });
    return response;
  };
  provider = await discoverProvider(server.issuer, { http, id: 'oidc', overrides: { grants: { authorization_code: { default: ['openid', 'api:read'] } } } });
});

afterAll(async () => {
  await server?.stop();
});

describe('discoverProvider against oidc-provider', () => {
  it('RFC 8414 first: oidc-provider serves it too (so no fallback); OpenID discovery alone gives the same provider', async () => {
    const origin = new URL(server.issuer).origin;
    expect(asked).toEqual([{ url: `${origin}/.well-known/oauth-authorization-server`, status: 200 }]);
    const viaOpenId = await discoverProvider(server.issuer, { wellKnown: 'openid-configuration', id: 'oidc', overrides: { grants: { authorization_code: { default: ['openid', 'api:read'] } } } });
    expect(viaOpenId).toEqual(provider);
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ issuer: server.issuer, authorization_response_iss_parameter_supported: true, code_challenge_methods_supported: ['S256'] });
    expect(provider).toMatchObject({
      id: 'oidc',
      issuer: server.issuer,
      authorization: { url: server.authorizationEndpoint, pkce: { support: 'required', methods: ['S256'] }, requiresIss: true },
      token: { url: server.tokenEndpoint, authMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'] },
      revocation: { url: metadata.revocation_endpoint },
    });
    expect(Object.keys(provider.grants).sort()).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
  });

  it('a full code + PKCE flow with the discovered provider (public client), then a refresh', async () => {
    const client = createOAuthClient({ provider, clientId: 'public-app', redirectUri, storage: memoryStorage() });
    const { url } = await client.startAuthorization();
    expect(new URL(url).searchParams.get('code_challenge_method')).toBe('S256');
    const callback = await server.approve(url);
    expect(new URL(callback).searchParams.get('iss')).toBe(server.issuer);
    const tokens = await client.completeAuthorization(callback);
    const { payload } = await jwtVerify(tokens.accessToken, createRemoteJWKSet(new URL(server.jwksUri)), { issuer: server.issuer, audience: server.resource });
    expect(payload).toMatchObject({ client_id: 'public-app' });
    expect(payload.scope).toContain('api:read');
    expect(tokens.refreshToken).toBeTruthy();
    expect((await client.refresh()).accessToken).not.toBe(tokens.accessToken);
  });

  it('a confidential client (client_secret_post) with the discovered provider, cached as JSON and parsed back', async () => {
    const cached = parseProvider(JSON.parse(JSON.stringify(provider)));
    const client = createOAuthClient({ provider: cached, clientId: 'post-app', clientSecret: 'post-secret-0123456789', redirectUri, storage: memoryStorage() });
    const { url } = await client.startAuthorization();
    const tokens = await client.completeAuthorization(await server.approve(url));
    expect(tokens.accessToken.split('.')).toHaveLength(3);
  });

  it('the server advertises iss: a callback without it is refused before any exchange (invalid_callback)', async () => {
    const client = createOAuthClient({ provider, clientId: 'public-app', redirectUri, storage: memoryStorage() });
    const { url } = await client.startAuthorization();
    const callback = new URL(await server.approve(url));
    callback.searchParams.delete('iss');
    await expect(client.completeAuthorization(callback.toString())).rejects.toMatchObject({ code: 'invalid_callback', field: 'callback.iss' });
  });

  it('metadata asked for another issuer (a trailing slash differs) is refused: RFC 8414 §3.3', async () => {
    await expect(discoverProvider(`${server.issuer}/`)).rejects.toMatchObject({ code: 'invalid_provider', field: 'metadata.issuer' });
  });
});
