import { decodeJwt, decodeProtectedHeader, exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { createActor, toPromise } from 'xstate';
import { beforeAll, describe, expect, it } from 'vitest';
import { clientAssertionMachine, provideServices } from '../../machines/index.js';
import { createOAuthClient, memoryStorage } from '../../src/index.js';
import { poems } from '../../src/providers/index.js';
import { fakePoems } from '../../src/testing/index.js';

const TOKEN_URL = 'https://sandboxapi.poems.com.sg/api-gateway/pspl/auth/1.0/oauth/token';
let pem: string;
let privateJwk: JsonWebKey;
let cryptoKey: CryptoKey;
let publicKeyJwk: JsonWebKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  cryptoKey = pair.privateKey as CryptoKey;
  pem = await exportPKCS8(pair.privateKey);
  privateJwk = (await exportJWK(pair.privateKey)) as JsonWebKey;
  publicKeyJwk = (await exportJWK(pair.publicKey)) as JsonWebKey;
});

/** The innermost state name (`{ holdingLock: 'signing' }` → `signing`). */
const leafState = (value: unknown): string => (typeof value === 'string' ? value : leafState(Object.values(value as object)[0]));

const fake = () => fakePoems({ clients: [{ clientId: 'poems-app', redirectUris: [], publicKeyJwk }] });
const assertions = (f: ReturnType<typeof fake>) => f.requests.filter((r) => r.body.grant_type === 'client_credentials').map((r) => String(r.body.client_assertion));

describe('client credentials with an RS256 client assertion (POEMS fake verifies it with the registered public key)', () => {
  it.each([
    ['a PKCS#8 PEM', () => pem],
    ['a JWK', () => privateJwk],
    ['a CryptoKey', () => cryptoKey],
  ])('signs with %s: iss = sub = client id, aud = token endpoint, unique jti, exp 60 s after iat', async (_form, key) => {
    const f = fake();
    const client = createOAuthClient({ provider: poems, clientId: 'poems-app', privateKey: key(), keyId: 'k1', http: f.fetch, storage: memoryStorage() });
    const tokens = await client.clientCredentials();
    expect(tokens.accessToken).toMatch(/^poems-at-/);
    await client.clientCredentials({ force: true });
    const [first, second] = assertions(f);
    const claims = decodeJwt(first!);
    expect(claims).toMatchObject({ iss: 'poems-app', sub: 'poems-app', aud: TOKEN_URL });
    expect(claims.exp! - claims.iat!).toBe(60);
    expect(decodeProtectedHeader(first!)).toMatchObject({ alg: 'RS256', kid: 'k1' });
    expect(decodeJwt(second!).jti).not.toBe(claims.jti);
    expect(f.requests[0]!.body.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  });

  it('the fake refuses an assertion sent twice (single-use jti), and one for another audience', async () => {
    const f = fake();
    const client = createOAuthClient({ provider: poems, clientId: 'poems-app', privateKey: pem, http: f.fetch });
    await client.clientCredentials();
    const sent = f.requests[0]!;
    const replay = await f.fetch(TOKEN_URL, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: sent.rawBody });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: 'invalid_client' });
    const elsewhere = createOAuthClient({
      provider: { ...poems, issuer: 'https://elsewhere.example', token: { ...poems.token, assertionAudience: 'issuer' as const } },
      clientId: 'poems-app',
      privateKey: pem,
      http: f.fetch,
    });
    await expect(elsewhere.clientCredentials()).rejects.toMatchObject({ code: 'invalid_client', status: 401 });
  });

  it('a retry signs a new assertion (its jti is single-use)', async () => {
    const f = fake();
    f.failNext('http_503');
    const client = createOAuthClient({ provider: poems, clientId: 'poems-app', privateKey: pem, http: f.fetch, retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    await client.clientCredentials();
    const [first, second] = assertions(f);
    expect(decodeJwt(first!).jti).not.toBe(decodeJwt(second!).jti);
  });

  it('the server refusing the assertion (a key it does not know) is invalid_client after signing', async () => {
    const other = await generateKeyPair('RS256', { extractable: true });
    const f = fake();
    const actor = createActor(provideServices(clientAssertionMachine, { http: f.fetch, secrets: { privateKey: other.privateKey as CryptoKey } }), {
      input: { provider: poems, client: { clientId: 'poems-app' } },
    });
    const states: string[] = [];
    actor.subscribe((s) => states.push(leafState(s.value)));
    const output = await toPromise(actor.start());
    expect(output).toMatchObject({ status: 'failed', error: { code: 'invalid_client', status: 401 } });
    expect(states).toContain('signing');
    expect(states).toContain('requesting');
  });

  describe('an unusable key fails in `signing` with invalid_configuration naming the problem, before any request', () => {
    it.each([
      ['an EC key', async () => (await generateKeyPair('ES256', { extractable: true })).privateKey as CryptoKey, /ECDSA key/],
      [
        'a 1024-bit RSA key',
        async () =>
          (await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']))
            .privateKey,
        /1024 bits/,
      ],
      ['a public key', async () => (await generateKeyPair('RS256', { extractable: true })).publicKey as CryptoKey, /public key/],
      ['a public JWK', async () => publicKeyJwk, /public JWK/],
      ['a PKCS#1 PEM', async () => '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----', /PKCS#1/],
      ['garbage', async () => 'not a key', /not a PKCS#8 PEM/],
      ['a broken PKCS#8 PEM', async () => '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----', /cannot be imported/],
    ])('%s', async (_what, key, message) => {
      const f = fake();
      const actor = createActor(provideServices(clientAssertionMachine, { http: f.fetch, secrets: { privateKey: await key() } }), {
        input: { provider: poems, client: { clientId: 'poems-app' } },
      });
      const states: string[] = [];
      actor.subscribe((s) => states.push(leafState(s.value)));
      const output = await toPromise(actor.start());
      expect(output).toMatchObject({ status: 'failed', error: { code: 'invalid_configuration', field: 'secrets.privateKey' } });
      expect(output.status === 'failed' && output.error.message).toMatch(message);
      expect(states).toContain('signing');
      expect(states).not.toContain('requesting');
      expect(f.requests).toHaveLength(0);
    });
  });

  it('aud is the issuer where the provider data says so', async () => {
    const seen: string[] = [];
    const provider = { ...poems, issuer: 'https://sandboxapi.poems.com.sg', token: { ...poems.token, assertionAudience: 'issuer' as const } };
    const http = async (_u: unknown, init?: RequestInit) => {
      seen.push(new URLSearchParams(String(init?.body)).get('client_assertion')!);
      return Response.json({ access_token: 'at', token_type: 'Bearer', expires_in: 60 });
    };
    await createOAuthClient({ provider, clientId: 'poems-app', privateKey: pem, http }).clientCredentials();
    expect(decodeJwt(seen[0]!).aud).toBe('https://sandboxapi.poems.com.sg');
  });

  it('the POEMS API key goes where the app says (a field of the provider data) and is required once declared', async () => {
    const headers: Array<Record<string, string>> = [];
    const provider = { ...poems, apiKey: { in: 'header' as const, name: 'X-Api-Key', required: true } };
    const http = async (_u: unknown, init?: RequestInit) => {
      headers.push(init?.headers as Record<string, string>);
      return Response.json({ access_token: 'at', token_type: 'Bearer', expires_in: 60 });
    };
    await createOAuthClient({ provider, clientId: 'poems-app', privateKey: pem, apiKey: 'gateway-key', http }).clientCredentials();
    expect(headers[0]!['x-api-key']).toBe('gateway-key');
    await expect(createOAuthClient({ provider, clientId: 'poems-app', privateKey: pem, http }).clientCredentials()).rejects.toMatchObject({
      code: 'invalid_configuration',
      field: 'secrets.apiKey',
    });
  });
});
