import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOAuthClient, memoryStorage, type Storage } from '../../src/index.js';
import { tokensKey } from '../../src/grants/storage-keys.js';
import { parseProvider } from '../../src/provider/parse.js';
import type { Provider } from '../../src/provider/schema.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { startOidcServer, type OidcServer } from '../../src/cli/oidc-server.js';

/**
 * RFC 7009 revocation and logout against oidc-provider (features.revocation and introspection
 * enabled in src/cli/oidc-server.ts) over real HTTP on 127.0.0.1.
 */
const redirectUri = 'http://127.0.0.1:8765/callback';
const basicSecret = 'revoke-basic-secret-0123456789';
let server: OidcServer;
let revocationEndpoint: string;
let provider: (authMethods?: Array<'none' | 'client_secret_basic'>, revocationUrl?: string) => Provider;

beforeAll(async () => {
  server = await startOidcServer({
    clients: [
      { client_id: 'public-app', token_endpoint_auth_method: 'none', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
      { client_id: 'basic-app', client_secret: basicSecret, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    ],
  });
  revocationEndpoint = `${server.issuer}/token/revocation`;
  provider = (authMethods, revocationUrl = revocationEndpoint) =>
    genericOAuth2({
      id: 'oidc',
      issuer: server.issuer,
      authorizationEndpoint: server.authorizationEndpoint,
      tokenEndpoint: server.tokenEndpoint,
      revocationEndpoint: revocationUrl,
      defaultScopes: ['openid', 'api:read'],
      ...(authMethods ? { authMethods } : {}),
    });
});

afterAll(async () => {
  await server?.stop();
});

/** fetch, recording what is sent to the revocation endpoint. */
function recordingFetch() {
  const revocations: Array<{ url: string; headers: Headers; body: URLSearchParams }> = [];
  const http = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    if (url.includes('/token/revocation') || url.includes('/revoke')) {
      revocations.push({ url, headers: new Headers(init?.headers), body: new URLSearchParams(String(init?.body)) });
    }
    return fetch(input, init);
  }) as typeof fetch;
  return { http, revocations };
}

async function signedIn(options: { clientId: 'public-app' | 'basic-app'; revocationUrl?: string }) {
  const storage: Storage = memoryStorage();
  const { http, revocations } = recordingFetch();
  const confidential = options.clientId === 'basic-app';
  const client = createOAuthClient({
    provider: provider(confidential ? ['client_secret_basic'] : undefined, options.revocationUrl),
    clientId: options.clientId,
    redirectUri,
    storage,
    http,
    ...(confidential ? { clientSecret: basicSecret } : {}),
  });
  const { url } = await client.startAuthorization();
  const tokens = await client.completeAuthorization(await server.approve(url));
  expect(tokens.refreshToken, JSON.stringify(server.events)).toBeTruthy();
  return { client, storage, tokens, revocations };
}

/** RFC 7662 introspection by the confidential client: whether the server still takes the token. */
async function active(token: string): Promise<boolean> {
  const response = await fetch(`${server.issuer}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`basic-app:${basicSecret}`)}` },
    body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { active: boolean }).active;
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('revoke against oidc-provider', () => {
  it('public client: a form POST of token, token_type_hint=refresh_token and client_id; then a refresh is reauthorization_required', async () => {
    const { client, tokens, revocations } = await signedIn({ clientId: 'public-app' });
    await client.revoke();
    expect(revocations).toHaveLength(1);
    const [sent] = revocations;
    expect(sent!.url).toBe(revocationEndpoint);
    expect(sent!.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(sent!.headers.get('authorization')).toBeNull();
    expect(Object.fromEntries(sent!.body)).toEqual({ token: tokens.refreshToken, token_type_hint: 'refresh_token', client_id: 'public-app' });
    // revoke leaves the set stored; the server refuses its refresh token now.
    expect((await client.getStoredTokens())?.refreshToken).toBe(tokens.refreshToken);
    await expect(client.refresh()).rejects.toMatchObject({ code: 'reauthorization_required' });
    expect(await client.getStoredTokens()).toBeUndefined();
  });

  it('confidential client: client_secret_basic, no secret in the body; introspection shows the refresh token inactive', async () => {
    const { client, tokens, revocations } = await signedIn({ clientId: 'basic-app' });
    expect(await active(tokens.refreshToken!)).toBe(true);
    await client.revoke();
    const [sent] = revocations;
    expect(sent!.headers.get('authorization')).toBe(`Basic ${btoa(`basic-app:${basicSecret}`)}`);
    expect(Object.fromEntries(sent!.body)).toEqual({ token: tokens.refreshToken, token_type_hint: 'refresh_token' });
    expect(await active(tokens.refreshToken!)).toBe(false);
  });

  it('an already revoked (invalid) token is revoked again without error (RFC 7009 §2.2)', async () => {
    const { client } = await signedIn({ clientId: 'public-app' });
    await client.revoke();
    await expect(client.revoke()).resolves.toBeUndefined();
  });
});

describe('logout against oidc-provider', () => {
  it('revokes, then deletes the stored set; the server refuses the old refresh token', async () => {
    const { client, storage, tokens } = await signedIn({ clientId: 'basic-app' });
    expect(await client.logout()).toEqual({ revoked: true, deleted: true });
    expect(await client.getStoredTokens()).toBeUndefined();
    expect(await active(tokens.refreshToken!)).toBe(false);
    // Put the old set back: the server has revoked it.
    await storage.set(tokensKey('oidc', 'basic-app'), JSON.stringify(tokens));
    await expect(client.refresh()).rejects.toMatchObject({ code: 'reauthorization_required' });
  });

  it('with the revocation endpoint down: still deletes, revoked false, the network error in revocationError', async () => {
    const { client, tokens, revocations } = await signedIn({ clientId: 'basic-app', revocationUrl: `http://127.0.0.1:${await closedPort()}/revoke` });
    const result = await client.logout();
    expect(revocations).toHaveLength(1);
    expect(result).toMatchObject({ revoked: false, deleted: true, revocationError: { code: 'network_error', retryable: true, requestSent: false } });
    expect(result.storageError).toBeUndefined();
    expect(await client.getStoredTokens()).toBeUndefined();
    // Not revoked at the server: the app learns it from revocationError.
    expect(await active(tokens.refreshToken!)).toBe(true);
  });

  it('revoke: false deletes without a request', async () => {
    const { client, revocations } = await signedIn({ clientId: 'public-app' });
    expect(await client.logout({ revoke: false })).toEqual({ revoked: false, deleted: true });
    expect(revocations).toHaveLength(0);
    expect(await client.getStoredTokens()).toBeUndefined();
  });

  it('a wrong client secret: invalid_client from the server in revocationError, the set deleted', async () => {
    const { storage, tokens } = await signedIn({ clientId: 'basic-app' });
    const wrong = createOAuthClient({ provider: parseProvider(provider(['client_secret_basic'])), clientId: 'basic-app', clientSecret: 'wrong', redirectUri, storage });
    const result = await wrong.logout();
    expect(result).toMatchObject({ revoked: false, deleted: true, revocationError: { code: 'invalid_client', status: 401 } });
    expect(await active(tokens.refreshToken!)).toBe(true);
  });
});
