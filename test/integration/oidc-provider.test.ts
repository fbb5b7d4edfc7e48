import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOAuthClient, memoryStorage, OAuthError, type Storage } from '../../src/index.js';
import { tokensKey } from '../../src/grants/storage-keys.js';
import type { Provider } from '../../src/provider/schema.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { startOidcServer, type OidcServer } from '../../src/cli/oidc-server.js';
import { runCodeFlow } from '../support/flow.js';
import type { FakeProvider } from '../../src/testing/index.js';

/**
 * All four grants against oidc-provider, a certified OpenID authorization server, over real
 * HTTP on 127.0.0.1, in one suite that starts it once: code + PKCE (public client, and
 * confidential with client_secret_basic and client_secret_post, `iss` checked), refresh with
 * and without rotation, client credentials with client_secret_post and client_secret_basic,
 * and private_key_jwt. Access tokens are JWTs verified against the server's JWKS.
 */
const redirectUri = 'http://127.0.0.1:8765/callback';
let server: OidcServer;
let signingKey: CryptoKey;
let provider: (authMethods?: Array<'none' | 'client_secret_basic' | 'client_secret_post'>) => Provider;

/** The server as the "fake" runCodeFlow drives: real fetch, its automatic user. */
const asUser = (): FakeProvider =>
  Object.assign((input: string | URL | Request, init?: RequestInit) => fetch(input, init), {
    fetch: (input: string | URL | Request, init?: RequestInit) => fetch(input, init),
    approve: (url: string) => server.approve(url),
    deny: (url: string) => server.deny(url),
    failNext: () => {
      throw new Error('not for a real server');
    },
    requests: [],
  });

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey as CryptoKey;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'app-key-1', alg: 'RS256', use: 'sig' };
  server = await startOidcServer({
    clients: [
      { client_id: 'service-post', client_secret: 'service-post-secret-0123456789', token_endpoint_auth_method: 'client_secret_post', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { client_id: 'service-basic', client_secret: 'service-basic-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { client_id: 'service-jwt', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS256', jwks: { keys: [publicJwk] }, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { client_id: 'public-app', token_endpoint_auth_method: 'none', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
      { client_id: 'basic-app', client_secret: 'basic-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] },
      { client_id: 'post-app', client_secret: 'post-secret-0123456789', token_endpoint_auth_method: 'client_secret_post', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    ],
  });
  provider = (authMethods) =>
    genericOAuth2({
      id: 'oidc',
      issuer: server.issuer,
      authorizationEndpoint: server.authorizationEndpoint,
      tokenEndpoint: server.tokenEndpoint,
      defaultScopes: ['openid', 'api:read'],
      ...(authMethods ? { authMethods } : {}),
    });
});

afterAll(async () => {
  await server?.stop();
});

describe('authorization code + PKCE against oidc-provider over real HTTP', () => {
  it('public client: S256, iss checked, a JWT access token signed by the server (verified against its JWKS), a refresh token', async () => {
    const { output, authorizationUrl, callbackUrl } = await runCodeFlow({ provider: provider(), fake: asUser(), client: { clientId: 'public-app', redirectUri } });
    expect(new URL(authorizationUrl).searchParams.get('code_challenge_method')).toBe('S256');
    expect(new URL(callbackUrl).searchParams.get('iss')).toBe(server.issuer);
    expect(output.status, JSON.stringify(server.events)).toBe('succeeded');
    if (output.status !== 'succeeded') return;
    const { payload } = await jwtVerify(output.tokens.accessToken, createRemoteJWKSet(new URL(server.jwksUri)), { issuer: server.issuer, audience: server.resource });
    expect(payload.client_id).toBe('public-app');
    expect(payload.scope).toContain('api:read');
    expect(output.tokens.refreshToken).toBeTruthy();
    expect(output.tokens.expiresAt).toBeGreaterThan(Date.now());
  });

  it('a callback whose iss is not the issuer is refused before any exchange (invalid_callback)', async () => {
    const { output } = await runCodeFlow({
      provider: provider(),
      fake: asUser(),
      client: { clientId: 'public-app', redirectUri },
      user: async (_f, url) => {
        const callback = new URL(await server.approve(url));
        callback.searchParams.set('iss', 'https://attacker.example');
        return callback.toString();
      },
    });
    expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_callback', field: 'callback.iss' });
  });

  it('a denied authorization is access_denied', async () => {
    const { output } = await runCodeFlow({ provider: provider(), fake: asUser(), client: { clientId: 'public-app', redirectUri }, user: (_f, url) => server.deny(url) });
    expect(output.status === 'failed' && output.error.code).toBe('access_denied');
  });

  it('a code used twice is invalid_grant from the server', async () => {
    let usedCallback = '';
    const first = await runCodeFlow({
      provider: provider(),
      fake: asUser(),
      client: { clientId: 'public-app', redirectUri },
      user: async (_f, url) => (usedCallback = await server.approve(url)),
    });
    expect(first.output.status).toBe('succeeded');
    const second = await runCodeFlow({
      provider: provider(),
      fake: asUser(),
      client: { clientId: 'public-app', redirectUri },
      user: async (_f, url) => {
        const callback = new URL(await server.approve(url));
        callback.searchParams.set('code', new URL(usedCallback).searchParams.get('code')!);
        return callback.toString();
      },
    });
    expect(second.output.status === 'failed' && second.output.error).toMatchObject({ code: 'invalid_grant', status: 400 });
  });

  it('confidential client with client_secret_basic', async () => {
    const { output } = await runCodeFlow({
      provider: provider(['client_secret_basic']),
      fake: asUser(),
      client: { clientId: 'basic-app', redirectUri },
      secrets: { clientSecret: 'basic-secret-0123456789' },
    });
    expect(output.status, JSON.stringify(server.events)).toBe('succeeded');
  });

  it('confidential client with client_secret_post', async () => {
    const { output } = await runCodeFlow({
      provider: provider(['client_secret_post']),
      fake: asUser(),
      client: { clientId: 'post-app', redirectUri },
      secrets: { clientSecret: 'post-secret-0123456789' },
    });
    expect(output.status, JSON.stringify(server.events)).toBe('succeeded');
  });

  it('a wrong client secret is invalid_client', async () => {
    const { output } = await runCodeFlow({
      provider: provider(['client_secret_basic']),
      fake: asUser(),
      client: { clientId: 'basic-app', redirectUri },
      secrets: { clientSecret: 'wrong' },
    });
    expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_client', status: 401 });
  });

  it('through the facade: the flow completes in a second client sharing the storage', async () => {
    const storage = memoryStorage();
    const make = () => createOAuthClient({ provider: provider(), clientId: 'public-app', redirectUri, storage });
    const { url } = await make().startAuthorization();
    const tokens = await make().completeAuthorization(await server.approve(url));
    expect(tokens.accessToken.split('.')).toHaveLength(3);
    const replay = make().completeAuthorization(await server.approve(url));
    await expect(replay).rejects.toBeInstanceOf(OAuthError);
    await expect(replay).rejects.toMatchObject({ code: 'flow_not_found' });
  });
});

describe('refresh against oidc-provider over real HTTP', () => {
  async function signedIn(clientId: string, clientSecret?: string) {
    const storage: Storage = memoryStorage();
    const client = createOAuthClient({
      provider: provider(clientSecret ? ['client_secret_post'] : undefined),
      clientId,
      redirectUri,
      storage,
      ...(clientSecret ? { clientSecret } : {}),
    });
    const { url } = await client.startAuthorization();
    const first = await client.completeAuthorization(await server.approve(url));
    return { client, storage, first };
  }

  it('public client: the refresh token rotates; the rotated one works; the old one is refused → reauthorization_required', async () => {
    const { client, storage, first } = await signedIn('public-app');
    const second = await client.refresh();
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.refreshToken).toBeTruthy();
    expect(second.refreshToken).not.toBe(first.refreshToken);
    const third = await client.refresh();
    expect(third.refreshToken).not.toBe(second.refreshToken);
    await storage.set(tokensKey('oidc', 'public-app'), JSON.stringify(first));
    await expect(client.refresh()).rejects.toMatchObject({ code: 'reauthorization_required' });
    expect(await client.getStoredTokens()).toBeUndefined();
  });

  it('confidential client (client_secret_post): no rotation, the same refresh token is kept and works again', async () => {
    const { client, first } = await signedIn('post-app', 'post-secret-0123456789');
    const second = await client.refresh();
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.refreshToken).toBe(first.refreshToken);
    const third = await client.refresh();
    expect(third.accessToken).not.toBe(second.accessToken);
    const { payload } = await jwtVerify(third.accessToken, createRemoteJWKSet(new URL(server.jwksUri)), { issuer: server.issuer, audience: server.resource });
    expect(payload.client_id).toBe('post-app');
  });
});

describe('client credentials against oidc-provider over real HTTP', () => {
  const verify = (token: string) => jwtVerify(token, createRemoteJWKSet(new URL(server.jwksUri)), { issuer: server.issuer, audience: server.resource });
  const serviceProvider = (authMethods: Array<'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'>) =>
    genericOAuth2({ id: 'oidc', issuer: server.issuer, tokenEndpoint: server.tokenEndpoint, authMethods, defaultScopes: ['api:read'] });

  it.each([
    ['client_secret_post', 'service-post', 'service-post-secret-0123456789'],
    ['client_secret_basic', 'service-basic', 'service-basic-secret-0123456789'],
  ] as const)('%s: a JWT access token for the API, verified against the JWKS', async (method, clientId, clientSecret) => {
    const client = createOAuthClient({ provider: serviceProvider([method]), clientId, clientSecret });
    const tokens = await client.clientCredentials();
    const { payload } = await verify(tokens.accessToken);
    expect(payload).toMatchObject({ client_id: clientId, scope: 'api:read' });
    expect(tokens.refreshToken).toBeUndefined();
    expect((await client.clientCredentials()).accessToken).toBe(tokens.accessToken); // cached
  });

  it('private_key_jwt: an RS256 assertion the server verifies with the registered key', async () => {
    const client = createOAuthClient({ provider: serviceProvider(['private_key_jwt']), clientId: 'service-jwt', privateKey: signingKey, keyId: 'app-key-1' });
    const tokens = await client.clientCredentials();
    const { payload } = await verify(tokens.accessToken);
    expect(payload.client_id).toBe('service-jwt');
    // A second, forced request signs a new assertion: the server refuses a reused jti.
    const again = await client.clientCredentials({ force: true });
    expect(again.accessToken).not.toBe(tokens.accessToken);
  });

  it('private_key_jwt with a key the server does not know is invalid_client', async () => {
    const other = await generateKeyPair('RS256', { extractable: true });
    const client = createOAuthClient({ provider: serviceProvider(['private_key_jwt']), clientId: 'service-jwt', privateKey: other.privateKey as CryptoKey });
    await expect(client.clientCredentials()).rejects.toMatchObject({ code: 'invalid_client', status: 401 });
  });
});
