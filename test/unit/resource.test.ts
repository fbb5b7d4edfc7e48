import { describe, expect, it } from 'vitest';
import { createOAuthClient, memoryStorage, OAuthError, type Http, type Storage } from '../../src/index.js';
import { checkResource } from '../../src/provider/resource.js';
import { pendingFlowKey } from '../../src/grants/storage-keys.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { json, oauthError, readRequest, type LoggedRequest } from '../../src/testing/kit.js';

/**
 * RFC 8707 resource indicators: checked before anything is sent, sent in the authorization
 * request and again in the token request (one parameter each), kept in the pending record, sent on
 * refresh, and part of the client credentials cache key.
 */

const AS = 'https://as.example';
const REDIRECT = 'http://127.0.0.1:8080/callback';
const SECRET = 'resource-client-secret-0123456789';
const API = 'https://api.example/';
const FILES = 'https://files.example/v1';

const provider = genericOAuth2({ id: 'rs-as', authorizationEndpoint: `${AS}/authorize`, tokenEndpoint: `${AS}/token` });

function thrown(run: () => unknown): OAuthError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return error as OAuthError;
  }
  throw new Error('expected a throw');
}

describe('checkResource (RFC 8707 §2)', () => {
  it('nothing given is undefined; a string is a list of one; a list is kept in order', () => {
    expect(checkResource(undefined)).toBeUndefined();
    expect(checkResource(API)).toEqual([API]);
    expect(checkResource([API, FILES])).toEqual([API, FILES]);
    expect(checkResource([])).toEqual([]);
  });

  it('accepts absolute URIs of any scheme, with a query', () => {
    expect(checkResource('urn:example:resource:orders')).toEqual(['urn:example:resource:orders']);
    expect(checkResource('https://api.example/orders?tenant=7')).toEqual(['https://api.example/orders?tenant=7']);
  });

  it.each(['/orders', 'orders', '//api.example/', 'api.example', '', '1https://api.example/', ' https://api.example/'])(
    'refuses the relative or malformed %j, field resource',
    (value) => {
      expect(thrown(() => checkResource(value))).toMatchObject({ code: 'invalid_configuration', field: 'resource' });
    },
  );

  it('refuses a fragment, even an empty one', () => {
    const error = thrown(() => checkResource('https://api.example/#orders'));
    expect(error).toMatchObject({ code: 'invalid_configuration', field: 'resource' });
    expect(error.message).toMatch(/fragment/);
    expect(thrown(() => checkResource('https://api.example/#'))).toMatchObject({ field: 'resource' });
  });

  it('names the item of a list: resource.N', () => {
    expect(thrown(() => checkResource([API, '/relative']))).toMatchObject({ code: 'invalid_configuration', field: 'resource.1' });
    expect(thrown(() => checkResource([API, FILES, 'https://x.example/#f']))).toMatchObject({ field: 'resource.2' });
    expect(thrown(() => checkResource(['nope', API]))).toMatchObject({ field: 'resource.0' });
  });

  it.each([42, null, {}, true])('refuses the non-string %j, field resource', (value) => {
    expect(thrown(() => checkResource(value))).toMatchObject({ code: 'invalid_configuration', field: 'resource' });
  });

  it('refuses a non-string item of a list, naming it', () => {
    expect(thrown(() => checkResource([API, 42]))).toMatchObject({ code: 'invalid_configuration', field: 'resource.1' });
    expect(thrown(() => checkResource([null]))).toMatchObject({ field: 'resource.0' });
  });

  it('takes the field name to report', () => {
    expect(thrown(() => checkResource('/x', 'options.resource'))).toMatchObject({ field: 'options.resource' });
    expect(thrown(() => checkResource([API, '/x'], 'options.resource'))).toMatchObject({ field: 'options.resource.1' });
  });
});

/** A fake authorization server: any code it issued is redeemed once; every request is logged with its raw body. */
function server() {
  const requests: LoggedRequest[] = [];
  const codes = new Set<string>();
  let counter = 0;
  const http: Http = async (input, init) => {
    const { logged } = await readRequest(input, init);
    requests.push(logged);
    const form = new URLSearchParams(logged.rawBody);
    if (new URL(logged.url).pathname !== '/token') return new Response('Not Found', { status: 404 });
    const grant = form.get('grant_type');
    if (grant === 'authorization_code') {
      if (!codes.delete(form.get('code') ?? '')) return oauthError('invalid_grant', 'unknown code');
    } else if (grant !== 'refresh_token' && grant !== 'client_credentials') {
      return oauthError('unsupported_grant_type', String(grant));
    }
    counter++;
    return json({ access_token: `at-${counter}`, token_type: 'Bearer', expires_in: 3600, ...(grant === 'client_credentials' ? {} : { refresh_token: `rt-${counter}` }) });
  };
  return {
    http,
    requests,
    tokenRequests: () => requests.map((r) => new URLSearchParams(r.rawBody)),
    approve(url: string): string {
      const sent = new URL(url);
      const code = `code-${++counter}`;
      codes.add(code);
      const back = new URL(sent.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', sent.searchParams.get('state')!);
      return back.toString();
    },
  };
}

const makeClient = (fake: ReturnType<typeof server>, storage: Storage = memoryStorage(), extra: { clientSecret?: string } = {}) =>
  createOAuthClient({ provider, clientId: 'app', redirectUri: REDIRECT, http: fake.http, storage, retry: { baseDelayMs: 1, maxDelayMs: 2 }, ...extra });

describe('resource in the authorization code flow', () => {
  it('extraParams may not set resource: use the option', async () => {
    const fake = server();
    const client = makeClient(fake);
    await expect(client.startAuthorization({ extraParams: { resource: API } })).rejects.toMatchObject({ code: 'invalid_configuration', field: 'extraParams.resource' });
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    ['/relative', 'resource'],
    [[API, 'https://x.example/#frag'], 'resource.1'],
  ] as const)('a bad resource (%j) is refused at start, naming %s, before anything is stored', async (resource, field) => {
    const fake = server();
    const written: string[] = [];
    const inner = memoryStorage();
    const storage: Storage = { ...inner, set: (key, value, options) => (written.push(key), inner.set(key, value, options)) };
    const client = makeClient(fake, storage);
    await expect(client.startAuthorization({ resource: resource as string | string[] })).rejects.toMatchObject({ code: 'invalid_configuration', field });
    expect(written).toEqual([]);
  });

  it('one resource: in the URL once, and again in the token request', async () => {
    const fake = server();
    const client = makeClient(fake);
    const { url } = await client.startAuthorization({ resource: API });
    expect(new URL(url).searchParams.getAll('resource')).toEqual([API]);
    await client.completeAuthorization(fake.approve(url));
    const [token] = fake.tokenRequests();
    expect(token!.get('grant_type')).toBe('authorization_code');
    expect(token!.getAll('resource')).toEqual([API]);
  });

  it('a list: repeated in the URL and repeated in the token request body, in order', async () => {
    const fake = server();
    const client = makeClient(fake);
    const { url } = await client.startAuthorization({ resource: [API, FILES] });
    expect(new URL(url).searchParams.getAll('resource')).toEqual([API, FILES]);
    await client.completeAuthorization(fake.approve(url));
    expect(fake.tokenRequests()[0]!.getAll('resource')).toEqual([API, FILES]);
    // Repeated parameters, not one joined value.
    expect(fake.requests[0]!.rawBody).toContain(`resource=${encodeURIComponent(API)}&resource=${encodeURIComponent(FILES)}`);
  });

  it('the pending record keeps it: completed by a second client sharing the storage, the token request still has it', async () => {
    const fake = server();
    const storage = memoryStorage();
    const { url, state } = await makeClient(fake, storage).startAuthorization({ resource: [API, FILES] });
    const record = JSON.parse((await storage.get(pendingFlowKey('rs-as', 'app', state)))!) as { resource?: string[] };
    expect(record.resource).toEqual([API, FILES]);
    await makeClient(fake, storage).completeAuthorization(fake.approve(url));
    expect(fake.tokenRequests()[0]!.getAll('resource')).toEqual([API, FILES]);
  });

  it('no resource asked: none in the URL, none in the record, none in the token request', async () => {
    const fake = server();
    const storage = memoryStorage();
    const client = makeClient(fake, storage);
    const { url, state } = await client.startAuthorization();
    expect(new URL(url).searchParams.has('resource')).toBe(false);
    expect(JSON.parse((await storage.get(pendingFlowKey('rs-as', 'app', state)))!)).not.toHaveProperty('resource');
    await client.completeAuthorization(fake.approve(url));
    expect(fake.tokenRequests()[0]!.has('resource')).toBe(false);
  });
});

describe('resource on refresh', () => {
  async function signedIn() {
    const fake = server();
    const client = makeClient(fake);
    const { url } = await client.startAuthorization({ resource: [API, FILES] });
    await client.completeAuthorization(fake.approve(url));
    return { fake, client };
  }

  it('refresh({ resource }) sends it: one, or a list repeated', async () => {
    const { fake, client } = await signedIn();
    await client.refresh({ resource: API });
    let last = fake.tokenRequests().at(-1)!;
    expect(last.get('grant_type')).toBe('refresh_token');
    expect(last.getAll('resource')).toEqual([API]);
    await client.refresh({ resource: [FILES, API] });
    last = fake.tokenRequests().at(-1)!;
    expect(last.getAll('resource')).toEqual([FILES, API]);
  });

  it('refresh() without one sends none (the grant\'s resources stand)', async () => {
    const { fake, client } = await signedIn();
    await client.refresh();
    expect(fake.tokenRequests().at(-1)!.has('resource')).toBe(false);
  });

  it('a bad resource on refresh is refused naming it, with no request sent, and the stored set kept', async () => {
    const { fake, client } = await signedIn();
    const before = await client.getStoredTokens();
    const sent = fake.requests.length;
    await expect(client.refresh({ resource: [API, 'not a uri'] })).rejects.toMatchObject({ code: 'invalid_configuration', field: 'resource.1' });
    expect(fake.requests).toHaveLength(sent);
    expect(await client.getStoredTokens()).toEqual(before);
  });
});

describe('resource in client credentials: part of the cache key', () => {
  const service = (fake: ReturnType<typeof server>, storage = memoryStorage()) => makeClient(fake, storage, { clientSecret: SECRET });

  it('sends it, repeated for a list', async () => {
    const fake = server();
    await service(fake).clientCredentials({ scopes: ['api:read'], resource: [API, FILES] });
    const [token] = fake.tokenRequests();
    expect(token!.get('grant_type')).toBe('client_credentials');
    expect(token!.getAll('resource')).toEqual([API, FILES]);
  });

  it('two resources are two tokens (two requests); the same resource again is the cached one', async () => {
    const fake = server();
    const client = service(fake);
    const api = await client.clientCredentials({ scopes: ['api:read'], resource: API });
    const files = await client.clientCredentials({ scopes: ['api:read'], resource: FILES });
    expect(fake.requests).toHaveLength(2);
    expect(files.accessToken).not.toBe(api.accessToken);
    expect((await client.clientCredentials({ scopes: ['api:read'], resource: API })).accessToken).toBe(api.accessToken);
    expect((await client.clientCredentials({ scopes: ['api:read'], resource: FILES })).accessToken).toBe(files.accessToken);
    expect(fake.requests).toHaveLength(2);
  });

  it('no resource and a resource are apart too', async () => {
    const fake = server();
    const client = service(fake);
    const none = await client.clientCredentials({ scopes: ['api:read'] });
    const api = await client.clientCredentials({ scopes: ['api:read'], resource: API });
    expect(api.accessToken).not.toBe(none.accessToken);
    expect(fake.requests).toHaveLength(2);
    expect(fake.tokenRequests()[0]!.has('resource')).toBe(false);
  });

  it('the same set of resources is one token, whatever the order or form, in this client and in another sharing the storage', async () => {
    const fake = server();
    const storage = memoryStorage();
    const first = await service(fake, storage).clientCredentials({ scopes: ['api:read'], resource: [API, FILES] });
    expect((await service(fake, storage).clientCredentials({ scopes: ['api:read'], resource: [FILES, API] })).accessToken).toBe(first.accessToken);
    const one = await service(fake, storage).clientCredentials({ scopes: ['api:read'], resource: API });
    expect((await service(fake, storage).clientCredentials({ scopes: ['api:read'], resource: [API] })).accessToken).toBe(one.accessToken);
    expect(fake.requests).toHaveLength(2);
  });

  it('a bad resource is refused before any request', async () => {
    const fake = server();
    await expect(service(fake).clientCredentials({ resource: 'https://api.example/#x' })).rejects.toMatchObject({ code: 'invalid_configuration', field: 'resource' });
    expect(fake.requests).toHaveLength(0);
  });
});

// ---- Mutation-testing additions --------------------------------------------------------------

describe('checkResource: messages and odd inputs', () => {
  it('says what is wrong', () => {
    expect(thrown(() => checkResource(42)).message).toBe('resource must be an absolute URI or a list of them');
    expect(thrown(() => checkResource('/x')).message).toBe('resource must be an absolute URI (RFC 8707 §2)');
    expect(thrown(() => checkResource([API, '/x'])).message).toBe('resource.1 must be an absolute URI (RFC 8707 §2)');
    expect(thrown(() => checkResource('https://api.example/#x')).message).toBe('resource must not have a fragment (RFC 8707 §2)');
  });

  it('a URL object is not a string: refused, naming it (not a TypeError)', () => {
    expect(thrown(() => checkResource([new URL(API)]))).toMatchObject({ code: 'invalid_configuration', field: 'resource.0' });
    expect(thrown(() => checkResource(new URL(API)))).toMatchObject({ code: 'invalid_configuration', field: 'resource' });
  });

  it.each(['https://', 'http://exa mple.com/', 'https://[::1/'])('a scheme the URL parser still refuses (%j) is no absolute URI', (value) => {
    expect(thrown(() => checkResource(value))).toMatchObject({ code: 'invalid_configuration', field: 'resource', message: 'resource must be an absolute URI (RFC 8707 §2)' });
  });
});
