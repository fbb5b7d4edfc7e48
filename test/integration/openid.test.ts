import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOAuthClient, discoverProvider, memoryStorage, type Http, type Provider, type Storage } from '../../src/index.js';
import { startOidcServer, type OidcServer } from '../../src/cli/oidc-server.js';
import { pendingFlowKey } from '../../src/grants/storage-keys.js';

/**
 * OpenID Connect sign-in against oidc-provider on 127.0.0.1, with a discovered provider: a nonce
 * in the authorization request, the id_token validated against the server's JWKS (its claims
 * returned), UserInfo with the access token, and a refresh whose new id_token names the same user.
 * The server issues opaque access tokens for UserInfo unless a `resource` is asked for.
 */
const redirectUri = 'http://127.0.0.1:8767/callback';
let server: OidcServer;
let provider: Provider;

beforeAll(async () => {
  server = await startOidcServer({
    defaultResource: false,
    clients: [
      { client_id: 'public-app', token_endpoint_auth_method: 'none', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
      { client_id: 'service-app', client_secret: 'service-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    ],
  });
  provider = await discoverProvider(server.issuer, { id: 'oidc' });
});

afterAll(async () => {
  await server?.stop();
});

const newClient = (storage: Storage = memoryStorage(), http?: Http) => createOAuthClient({ provider, clientId: 'public-app', redirectUri, storage, ...(http ? { http } : {}) });

describe('OpenID Connect sign-in against oidc-provider', () => {
  it('discovery finds the OpenID Provider: JWKS, UserInfo, its id_token algorithms', () => {
    expect(provider.openid).toEqual({ jwksUri: server.jwksUri, userinfoUrl: `${server.issuer}/me`, idTokenSigningAlgs: expect.arrayContaining(['RS256']), clockToleranceS: 60 });
  });

  it('a nonce goes out, the id_token comes back validated with it, and UserInfo names the same user', async () => {
    const client = newClient();
    const { url } = await client.startAuthorization({ scopes: ['openid', 'email', 'offline_access'] });
    const nonce = new URL(url).searchParams.get('nonce');
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const tokens = await client.completeAuthorization(await server.approve(url));
    expect(tokens.idTokenClaims).toMatchObject({ iss: server.issuer, sub: 'user-1', aud: 'public-app', nonce });
    // The claims are what the server signed: checked here again with jose, independently.
    const { payload } = await jwtVerify(tokens.extra.id_token as string, createRemoteJWKSet(new URL(server.jwksUri)), { issuer: server.issuer, audience: 'public-app' });
    expect(payload.nonce).toBe(nonce);
    expect(await client.getUserInfo()).toEqual({ sub: 'user-1', email: 'user-1@example.test', email_verified: true });
  });

  it('a refresh brings a new id_token for the same user, validated; its claims are kept with the set', async () => {
    let refreshAnswer: Record<string, unknown> | undefined;
    const http: Http = async (input, init) => {
      const response = await fetch(input, init);
      if (String(init?.body ?? '').includes('grant_type=refresh_token')) refreshAnswer = (await response.clone().json()) as Record<string, unknown>;
      return response;
    };
    const client = newClient(memoryStorage(), http);
    const { url } = await client.startAuthorization({ scopes: ['openid', 'offline_access'] });
    await client.completeAuthorization(await server.approve(url));
    const refreshed = await client.refresh();
    expect(refreshAnswer?.id_token).toBeTypeOf('string');
    expect(refreshed.extra.id_token).toBe(refreshAnswer!.id_token);
    expect(refreshed.idTokenClaims).toMatchObject({ sub: 'user-1', iss: server.issuer, aud: 'public-app' });
    expect((await client.getStoredTokens())!.idTokenClaims!.sub).toBe('user-1');
  });

  it('an id_token whose nonce is not the one sent is refused, naming the claim', async () => {
    const storage = memoryStorage();
    const client = newClient(storage);
    const { url, state } = await client.startAuthorization({ scopes: ['openid'] });
    // Another flow's nonce in this flow's record: the server's id_token then carries the wrong one.
    const key = pendingFlowKey('oidc', 'public-app', state);
    const record = JSON.parse((await storage.get(key))!);
    await storage.set(key, JSON.stringify({ ...record, nonce: 'b'.repeat(43) }));
    const failure = await client.completeAuthorization(await server.approve(url)).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'invalid_response', field: 'id_token.nonce' });
    expect(String((failure as Error).message)).not.toContain(record.nonce);
    await expect(client.getStoredTokens()).resolves.toBeUndefined();
  });

  it('without openid no nonce is sent and no id_token is asked for', async () => {
    const client = newClient();
    const { url } = await client.startAuthorization({ scopes: ['api:read'] });
    expect(new URL(url).searchParams.has('nonce')).toBe(false);
    const tokens = await client.completeAuthorization(await server.approve(url));
    expect(tokens.idTokenClaims).toBeUndefined();
  });
});

describe('resource indicators (RFC 8707) against oidc-provider', () => {
  it('resource in the authorization and token requests gives a JWT access token for that API', async () => {
    const client = newClient();
    const { url } = await client.startAuthorization({ scopes: ['openid', 'api:read'], resource: server.resource });
    expect(new URL(url).searchParams.getAll('resource')).toEqual([server.resource]);
    const tokens = await client.completeAuthorization(await server.approve(url));
    const { payload } = await jwtVerify(tokens.accessToken, createRemoteJWKSet(new URL(server.jwksUri)), { issuer: server.issuer, audience: server.resource });
    expect(payload.scope).toBe('api:read');
  });

  it('a resource the server does not know is refused with invalid_target', async () => {
    const client = newClient();
    const { url } = await client.startAuthorization({ scopes: ['api:read'], resource: 'https://unknown.example/api' });
    const callback = new URL(await server.approve(url));
    expect(callback.searchParams.get('error')).toBe('invalid_target');
    await expect(client.completeAuthorization(callback.toString())).rejects.toMatchObject({ code: 'invalid_target' });
  });

  it('client credentials with a resource: a JWT for that API, cached per resource', async () => {
    let requests = 0;
    const http: Http = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const client = createOAuthClient({ provider, clientId: 'service-app', clientSecret: 'service-secret-0123456789', http, storage: memoryStorage() });
    const tokens = await client.clientCredentials({ scopes: ['api:read'], resource: server.resource });
    const { payload } = await jwtVerify(tokens.accessToken, createRemoteJWKSet(new URL(server.jwksUri)), { issuer: server.issuer, audience: server.resource });
    expect(payload.client_id).toBe('service-app');
    expect((await client.clientCredentials({ scopes: ['api:read'], resource: server.resource })).accessToken).toBe(tokens.accessToken);
    expect(requests).toBe(1);
    await expect(client.clientCredentials({ scopes: ['api:read'], resource: 'https://unknown.example/api' })).rejects.toMatchObject({ code: 'invalid_target' });
  });

  it('a resource that is not an absolute URI is refused before anything is sent', async () => {
    await expect(newClient().startAuthorization({ resource: '/api' })).rejects.toMatchObject({ code: 'invalid_configuration', field: 'resource' });
    await expect(newClient().startAuthorization({ resource: ['https://api.example/', 'https://api.example/#x'] })).rejects.toMatchObject({ field: 'resource.1' });
  });
});

describe('pushed authorization requests (RFC 9126) against oidc-provider', () => {
  it('pushed first: the URL carries only client_id and request_uri, and the flow completes', async () => {
    const pushed = await discoverProvider(server.issuer, { id: 'oidc', pushedAuthorization: true });
    expect(pushed.pushedAuthorization).toEqual({ url: `${server.issuer}/request` });
    const asked: string[] = [];
    const http: Http = (input, init) => {
      asked.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    };
    const client = createOAuthClient({ provider: pushed, clientId: 'public-app', redirectUri, storage: memoryStorage(), http });
    const { url } = await client.startAuthorization({ scopes: ['openid'] });
    const params = new URL(url).searchParams;
    expect([...params.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(params.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(asked).toEqual(['POST /request']);
    const tokens = await client.completeAuthorization(await server.approve(url, { redirectUri }));
    expect(tokens.idTokenClaims?.sub).toBe('user-1');
  });
});

describe('a server that requires PAR and DPoP nonces', () => {
  let strict: OidcServer;
  beforeAll(async () => {
    strict = await startOidcServer({
      defaultResource: false,
      dpopNonce: true,
      requirePushedAuthorization: true,
      clients: [
        { client_id: 'public-app', token_endpoint_auth_method: 'none', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
      ],
    });
  });
  afterAll(async () => {
    await strict?.stop();
  });

  /** A storage that holds strings only: the DPoP key is kept as a JWK there, as in a file or Redis. */
  const stringsOnly = (): Storage => {
    const inner = memoryStorage();
    return { get: (k) => inner.get(k), set: (k, v, o) => inner.set(k, v, o), delete: (k) => inner.delete(k), setIfAbsent: (k, v, t) => inner.setIfAbsent!(k, v, t) };
  };

  for (const [name, makeStorage] of [
    ['a storage that holds the CryptoKeyPair itself', () => memoryStorage()],
    ['a storage of strings only', stringsOnly],
  ] as const) {
    it(`DPoP-bound tokens through PAR, with the nonce retry, UserInfo and a refresh from a second client (${name})`, async () => {
      const dpopProvider = await discoverProvider(strict.issuer, { id: 'strict', dpop: true });
      expect(dpopProvider.pushedAuthorization).toBeDefined(); // the metadata requires it
      expect(dpopProvider.dpop?.algs[0]).toBe('ES256');
      const nonceRefusals: string[] = [];
      const http: Http = async (input, init) => {
        const response = await fetch(input, init);
        const challenge = response.headers.get('www-authenticate') ?? '';
        const body = response.status === 400 ? await response.clone().text() : '';
        if (body.includes('use_dpop_nonce') || challenge.includes('use_dpop_nonce')) nonceRefusals.push(new URL(String(input)).pathname);
        return response;
      };
      const storage = makeStorage();
      const client = createOAuthClient({ provider: dpopProvider, clientId: 'public-app', redirectUri, storage, http });
      const { url } = await client.startAuthorization({ scopes: ['openid', 'offline_access'] });
      const tokens = await client.completeAuthorization(await strict.approve(url, { redirectUri }));
      expect(tokens.tokenType).toBe('DPoP');
      // One nonce refusal, at the first request to the server (PAR); then every proof carries it.
      expect(nonceRefusals).toEqual(['/request']);
      expect(await client.getUserInfo()).toMatchObject({ sub: 'user-1' });
      const headers = await client.authorizationHeaders({ method: 'GET', url: `${strict.issuer}/me` });
      expect(headers.authorization).toBe(`DPoP ${tokens.accessToken}`);
      expect(decodeJwt(headers.dpop!)).toMatchObject({ htm: 'GET', htu: `${strict.issuer}/me` });
      const viaFetch = await client.fetch(`${strict.issuer}/me`);
      expect(viaFetch.status).toBe(200);
      // Another process sharing the storage uses the same key: its refresh (bound to the key) succeeds.
      const other = createOAuthClient({ provider: dpopProvider, clientId: 'public-app', redirectUri, storage, http });
      const refreshed = await other.refresh();
      expect(refreshed.tokenType).toBe('DPoP');
      expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    });
  }

  it('a request that is not pushed is refused by this server; the discovered provider pushes by itself', async () => {
    const plain = await discoverProvider(strict.issuer, { id: 'strict', pushedAuthorization: false });
    expect(plain.pushedAuthorization).toBeUndefined();
    const client = createOAuthClient({ provider: plain, clientId: 'public-app', redirectUri, storage: memoryStorage() });
    const { url } = await client.startAuthorization({ scopes: ['openid'] });
    const callback = new URL(await strict.approve(url).catch(() => `${redirectUri}?error=invalid_request`));
    expect(callback.searchParams.get('error')).toBe('invalid_request');
  });
});
