import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { InspectionEvent } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createOAuthClient, memoryStorage, OAuthError, type Http, type Provider, type Storage } from '../../src/index.js';
import { dpopKeyKey, tokensKey } from '../../src/grants/storage-keys.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { base64url } from '../../src/crypto/base64url.js';
import { json, oauthError, readRequest, type LoggedRequest } from '../../src/testing/kit.js';
import { serialise } from '../support/serialise-inspection.js';

/**
 * DPoP (RFC 9449) wired into the grants, in process: a fake authorization server that checks
 * every proof (jose jwtVerify with EmbeddedJWK), can require its nonce (§8) and binds the tokens it
 * issues to the proof's key; and a fake resource server on another origin that wants DPoP tokens,
 * proofs with `ath`, and a nonce of its own (§9).
 */

const AS = 'https://as.example';
const TOKEN = `${AS}/token`;
const PAR = `${AS}/par`;
const USERINFO = `${AS}/userinfo`;
const API = 'https://api.example/orders';
const REDIRECT = 'http://127.0.0.1:8080/callback';
const SECRET = 'dpop-client-secret-0123456789';
const NOW_S = 1_700_000_000;

interface Proof {
  header: ProtectedHeaderParameters & { jwk?: JWK };
  payload: JWTPayload & { htm?: string; htu?: string; ath?: string; nonce?: string };
  jkt: string;
  raw: string;
}

async function readProof(raw: string | null | undefined): Promise<Proof | undefined> {
  if (!raw) return undefined;
  const { payload, protectedHeader } = await jwtVerify(raw, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'] });
  const jwk = protectedHeader.jwk as JWK;
  return { header: protectedHeader as Proof['header'], payload: payload as Proof['payload'], jkt: await calculateJwkThumbprint(jwk), raw };
}

const sha256 = async (value: string) => base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))));

interface ServerOptions {
  /** The authorization server wants its nonce in every proof (400 use_dpop_nonce otherwise). */
  asNonce?: boolean;
  /** The resource server wants its nonce (401 DPoP error="use_dpop_nonce" otherwise). */
  rsNonce?: boolean;
  /** Binds tokens to the proof's key and answers token_type DPoP; false: a plain Bearer server. */
  dpop?: boolean;
}

interface Sent {
  url: string;
  method: string;
  headers: Headers;
  body: unknown;
  proof?: Proof;
}

function dpopServer(options: ServerOptions = {}) {
  const dpop = options.dpop ?? true;
  const requests: Array<LoggedRequest & { proof?: Proof }> = [];
  const api: Sent[] = [];
  const codes = new Map<string, URLSearchParams>();
  const boundRefresh = new Map<string, string>();
  const boundAccess = new Map<string, string | undefined>();
  let counter = 0;
  let nonceCount = 0;
  const server = {
    requests,
    api,
    tokenRequests: () => requests.filter((r) => r.url === TOKEN),
    asNonce: 'as-nonce-0',
    rsNonce: 'rs-nonce-0',
    /** Rotates the AS nonce on every refusal and refuses every proof: a nonce is never good enough. */
    refuseAlways: false,
    /** The AS nonce error without the DPoP-Nonce header. */
    omitNonceHeader: false,
    /** Answers the next token request with this, whatever it is. */
    nextTokenAnswer: undefined as (() => Response) | undefined,
    /** The resource server refuses every proof with a fresh nonce. */
    rsRefuseAlways: false,
    async as(logged: LoggedRequest): Promise<Response> {
      const entry = { ...logged, proof: await readProof(logged.headers.dpop) };
      requests.push(entry);
      const { proof } = entry;
      const form = new URLSearchParams(logged.rawBody);
      if (dpop) {
        if (!proof) return oauthError('invalid_dpop_proof', 'a DPoP proof is required');
        if (proof.payload.htm !== logged.method || proof.payload.htu !== logged.url.split('?')[0]) return oauthError('invalid_dpop_proof', 'htm/htu');
        if (options.asNonce && (server.refuseAlways || proof.payload.nonce !== server.asNonce)) {
          if (server.refuseAlways) server.asNonce = `as-nonce-${++nonceCount}`;
          return json({ error: 'use_dpop_nonce', error_description: 'Authorization server requires nonce in DPoP proof' }, 400, server.omitNonceHeader ? {} : { 'dpop-nonce': server.asNonce });
        }
      }
      if (logged.url === PAR) {
        const uri = `urn:ietf:params:oauth:request_uri:${++counter}`;
        codes.set(uri, form);
        return json({ request_uri: uri, expires_in: 60 }, 201);
      }
      if (logged.url === USERINFO) return json({ sub: 'user-1' });
      if (logged.url !== TOKEN) return new Response('Not Found', { status: 404 });
      const injected = server.nextTokenAnswer;
      server.nextTokenAnswer = undefined;
      if (injected) return injected();
      const grant = form.get('grant_type');
      if (grant === 'authorization_code') {
        if (!codes.delete(form.get('code') ?? '')) return oauthError('invalid_grant', 'unknown or used code');
      } else if (grant === 'refresh_token') {
        const bound = boundRefresh.get(form.get('refresh_token') ?? '');
        if (bound === undefined) return oauthError('invalid_grant', 'unknown refresh token');
        if (dpop && bound !== proof!.jkt) return oauthError('invalid_grant', 'the refresh token is bound to another key');
      } else if (grant !== 'client_credentials') {
        return oauthError('unsupported_grant_type', String(grant));
      }
      counter++;
      const accessToken = `at-${counter}-${'x'.repeat(12)}`;
      const refreshToken = grant === 'client_credentials' ? undefined : `rt-${counter}-${'y'.repeat(12)}`;
      boundAccess.set(accessToken, proof?.jkt);
      if (refreshToken) boundRefresh.set(refreshToken, proof?.jkt ?? '');
      return json({ access_token: accessToken, token_type: dpop ? 'DPoP' : 'Bearer', expires_in: 3600, ...(refreshToken ? { refresh_token: refreshToken } : {}) });
    },
    async rs(url: string, init: RequestInit = {}): Promise<Response> {
      const headers = new Headers(init.headers);
      const sent: Sent = { url, method: init.method ?? 'GET', headers, body: init.body };
      const proof = await readProof(headers.get('dpop'));
      if (proof) sent.proof = proof;
      api.push(sent);
      const [scheme, token] = (headers.get('authorization') ?? '').split(' ');
      if (scheme === 'DPoP') {
        if (!proof || proof.jkt !== boundAccess.get(token!) || proof.payload.ath !== (await sha256(token!)) || proof.payload.htu !== url.split('?')[0]) {
          return new Response(null, { status: 401, headers: { 'www-authenticate': 'DPoP error="invalid_token"' } });
        }
        if (options.rsNonce && (server.rsRefuseAlways || proof.payload.nonce !== server.rsNonce)) {
          if (server.rsRefuseAlways) server.rsNonce = `rs-nonce-${++nonceCount}`;
          return new Response(null, { status: 401, headers: { 'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"', 'dpop-nonce': server.rsNonce } });
        }
      } else if (scheme !== 'Bearer' || !boundAccess.has(token!)) {
        return new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
      }
      return json({ orders: [], echoed: typeof init.body === 'string' ? init.body : null });
    },
    http: (async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.startsWith('https://api.example/')) return server.rs(url, init);
      const { logged } = await readRequest(input, init);
      return server.as(logged);
    }) as Http,
    /** The user approving: the authorization URL (or the pushed request) gives redirect_uri and state. */
    approve(url: string): string {
      const sent = new URL(url).searchParams;
      const params = sent.has('request_uri') ? codes.get(sent.get('request_uri')!)! : sent;
      const code = `code-${++counter}`;
      codes.set(code, params);
      const back = new URL(params.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', params.get('state')!);
      return back.toString();
    },
  };
  return server;
}

const dpopProvider = (options: { dpop?: boolean; par?: boolean } = {}): Provider =>
  genericOAuth2({
    id: 'dpop-as',
    authorizationEndpoint: `${AS}/authorize`,
    tokenEndpoint: TOKEN,
    ...(options.dpop === false ? {} : { dpop: true }),
    ...(options.par ? { pushedAuthorizationEndpoint: PAR } : {}),
  });

/** A storage of strings only: the DPoP key is kept as a private JWK, as in a file or Redis. */
function stringsOnly(): Storage {
  const inner = memoryStorage();
  return {
    get: (k) => inner.get(k),
    set: (k, v, o) => inner.set(k, v, o),
    delete: (k) => inner.delete(k),
    setIfAbsent: (k, v, t) => inner.setIfAbsent!(k, v, t),
    deleteIfEquals: (k, v) => inner.deleteIfEquals!(k, v),
    take: (k) => inner.take!(k),
  };
}

function setup(options: ServerOptions & { provider?: Provider; storage?: Storage; clientSecret?: string; inspect?: (event: InspectionEvent) => void } = {}) {
  const server = dpopServer(options);
  const storage = options.storage ?? memoryStorage();
  const provider = options.provider ?? dpopProvider({ dpop: options.dpop ?? true });
  const make = () =>
    createOAuthClient({
      provider,
      clientId: 'app',
      redirectUri: REDIRECT,
      http: server.http,
      storage,
      clock: { now: () => NOW_S * 1000 },
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      ...(options.clientSecret ? { clientSecret: options.clientSecret } : {}),
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
  return { server, storage, make };
}

async function signIn(s: ReturnType<typeof setup>) {
  const client = s.make();
  const { url } = await client.startAuthorization({ scopes: ['api:read'] });
  const tokens = await client.completeAuthorization(s.server.approve(url));
  return { client, tokens };
}

async function rejection(promise: Promise<unknown>): Promise<OAuthError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return error as OAuthError;
  }
  throw new Error('expected a rejection');
}

describe('a DPoP proof on every token request', () => {
  it('typ dpop+jwt, the public JWK only, htm POST, htu = the token URL, a fresh jti, no ath', async () => {
    const s = setup({ clientSecret: SECRET });
    const client = s.make();
    await client.clientCredentials({ scopes: ['api:read'] });
    await client.clientCredentials({ scopes: ['api:write'] });
    const proofs = s.server.tokenRequests().map((r) => r.proof!);
    expect(proofs).toHaveLength(2);
    for (const proof of proofs) {
      expect(proof.header).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256' } });
      expect(proof.header.jwk).not.toHaveProperty('d');
      expect(proof.payload).toMatchObject({ htm: 'POST', htu: TOKEN, iat: NOW_S });
      expect(proof.payload).not.toHaveProperty('ath');
      expect(proof.payload).not.toHaveProperty('nonce');
      expect(proof.payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
    expect(proofs[0]!.payload.jti).not.toBe(proofs[1]!.payload.jti);
    expect(proofs[0]!.jkt).toBe(proofs[1]!.jkt);
  });

  it('a 400 use_dpop_nonce with a DPoP-Nonce is answered exactly once, with that nonce; the nonce is then sent first time', async () => {
    const s = setup({ asNonce: true, clientSecret: SECRET });
    const client = s.make();
    const tokens = await client.clientCredentials({ scopes: ['api:read'] });
    expect(tokens.tokenType).toBe('DPoP');
    const [first, second] = s.server.tokenRequests();
    expect(s.server.tokenRequests()).toHaveLength(2);
    expect(first!.proof!.payload).not.toHaveProperty('nonce');
    expect(second!.proof!.payload.nonce).toBe(s.server.asNonce);
    expect(second!.proof!.payload.jti).not.toBe(first!.proof!.payload.jti);
    expect(second!.rawBody).toBe(first!.rawBody);
    await client.clientCredentials({ scopes: ['api:write'] });
    expect(s.server.tokenRequests()).toHaveLength(3);
    expect(s.server.tokenRequests()[2]!.proof!.payload.nonce).toBe(s.server.asNonce);
  });

  it('a second refusal is not answered again: use_dpop_nonce reaches the caller after two requests', async () => {
    const s = setup({ asNonce: true, clientSecret: SECRET });
    s.server.refuseAlways = true;
    const error = await rejection(s.make().clientCredentials({ scopes: ['api:read'] }));
    expect(error).toMatchObject({ code: 'use_dpop_nonce', status: 400 });
    expect(s.server.tokenRequests()).toHaveLength(2);
    expect(s.server.tokenRequests()[1]!.proof!.payload.nonce).toBe('as-nonce-1');
  });

  it('a use_dpop_nonce without a DPoP-Nonce header is not repeated (it would fail the same way)', async () => {
    const s = setup({ asNonce: true, clientSecret: SECRET });
    s.server.omitNonceHeader = true;
    expect(await rejection(s.make().clientCredentials())).toMatchObject({ code: 'use_dpop_nonce' });
    expect(s.server.tokenRequests()).toHaveLength(1);
  });

  it('no dpop header anywhere when the provider has no dpop', async () => {
    const s = setup({ dpop: false, clientSecret: SECRET });
    const { client, tokens } = await signIn(s);
    expect(tokens.tokenType).toBe('Bearer');
    await client.refresh();
    await client.clientCredentials();
    expect(s.server.requests).toHaveLength(3);
    for (const request of s.server.requests) expect(request.headers).not.toHaveProperty('dpop');
  });
});

describe('the code exchange and DPoP', () => {
  it('an exchange refused with use_dpop_nonce is sent again, once (the one safe repeat): the code is redeemed', async () => {
    const s = setup({ asNonce: true });
    const { tokens } = await signIn(s);
    expect(tokens.tokenType).toBe('DPoP');
    const [refused, redeemed] = s.server.tokenRequests();
    expect(s.server.tokenRequests()).toHaveLength(2);
    expect(new URLSearchParams(redeemed!.rawBody).get('code')).toBe(new URLSearchParams(refused!.rawBody).get('code'));
    expect(redeemed!.proof!.payload.nonce).toBe(s.server.asNonce);
  });

  it('an exchange refused twice with use_dpop_nonce fails with it after two requests', async () => {
    const s = setup({ asNonce: true });
    s.server.refuseAlways = true;
    const client = s.make();
    const { url } = await client.startAuthorization();
    expect(await rejection(client.completeAuthorization(s.server.approve(url)))).toMatchObject({ code: 'use_dpop_nonce' });
    expect(s.server.tokenRequests()).toHaveLength(2);
  });

  it('a 500 after the exchange was sent is not repeated: the code may have been redeemed', async () => {
    const s = setup();
    s.server.nextTokenAnswer = () => new Response('Internal Server Error', { status: 500, headers: { 'content-type': 'text/plain' } });
    const client = s.make();
    const { url } = await client.startAuthorization();
    const error = await rejection(client.completeAuthorization(s.server.approve(url)));
    expect(error).toMatchObject({ status: 500, retryable: false });
    expect(s.server.tokenRequests()).toHaveLength(1);
    expect(await client.getStoredTokens()).toBeUndefined();
  });
});

describe('one key pair per provider and client, kept in the storage', () => {
  for (const [name, makeStorage] of [
    ['a storage that holds the CryptoKeyPair', () => memoryStorage()],
    ['a storage of strings only', stringsOnly],
  ] as const) {
    it(`the exchange, the refresh and a second client's refresh prove the same key (${name})`, async () => {
      const storage = makeStorage();
      const s = setup({ storage });
      const { client } = await signIn(s);
      await client.refresh();
      // The server binds the refresh token to the key: only the same key can refresh it.
      const second = await s.make().refresh();
      expect(second.tokenType).toBe('DPoP');
      const thumbprints = s.server.tokenRequests().map((r) => r.proof!.jkt);
      expect(thumbprints).toHaveLength(3);
      expect(new Set(thumbprints).size).toBe(1);
      const headers = await s.make().authorizationHeaders({ method: 'GET', url: API });
      expect((await readProof(headers.dpop))!.jkt).toBe(thumbprints[0]);
      if (name === 'a storage of strings only') {
        const stored = JSON.parse((await storage.get(dpopKeyKey('dpop-as', 'app')))!) as JWK;
        expect(await calculateJwkThumbprint({ kty: stored.kty!, crv: stored.crv!, x: stored.x!, y: stored.y! })).toBe(thumbprints[0]);
      }
    });
  }

  it('another storage is another key: its refresh is refused by the server that bound the token', async () => {
    const s = setup();
    const { tokens } = await signIn(s);
    const other = memoryStorage();
    // The same tokens, copied without the key.
    await other.set(tokensKey('dpop-as', 'app'), JSON.stringify(tokens));
    const stranger = createOAuthClient({ provider: dpopProvider(), clientId: 'app', redirectUri: REDIRECT, http: s.server.http, storage: other, clock: { now: () => NOW_S * 1000 } });
    expect(await rejection(stranger.refresh())).toMatchObject({ code: 'reauthorization_required' });
    const [exchange, refresh] = s.server.tokenRequests();
    expect(refresh!.proof!.jkt).not.toBe(exchange!.proof!.jkt);
  });
});

describe('pushed authorization with DPoP', () => {
  it('the push carries a proof for the PAR URL, and its nonce refusal is answered there; the exchange then sends the nonce first time', async () => {
    const s = setup({ asNonce: true, provider: dpopProvider({ par: true }) });
    const client = s.make();
    const { url } = await client.startAuthorization();
    const pushes = s.server.requests.filter((r) => r.url === PAR);
    expect(pushes).toHaveLength(2);
    expect(pushes[0]!.proof!.payload).toMatchObject({ htm: 'POST', htu: PAR });
    expect(pushes[1]!.proof!.payload).toMatchObject({ htu: PAR, nonce: s.server.asNonce });
    await client.completeAuthorization(s.server.approve(url));
    expect(s.server.tokenRequests()).toHaveLength(1);
    expect(s.server.tokenRequests()[0]!.proof!.payload).toMatchObject({ htu: TOKEN, nonce: s.server.asNonce });
    expect(s.server.tokenRequests()[0]!.proof!.jkt).toBe(pushes[0]!.proof!.jkt);
  });
});

describe('presenting the token: authorizationHeaders', () => {
  it('a DPoP token: Authorization DPoP <token> and a proof for this method and URL, with ath', async () => {
    const s = setup();
    const { client, tokens } = await signIn(s);
    const headers = await client.authorizationHeaders({ method: 'post', url: `${API}?page=2#top` });
    expect(Object.keys(headers).sort()).toEqual(['authorization', 'dpop']);
    expect(headers.authorization).toBe(`DPoP ${tokens.accessToken}`);
    const proof = (await readProof(headers.dpop))!;
    expect(proof.header.typ).toBe('dpop+jwt');
    expect(proof.payload).toMatchObject({ htm: 'POST', htu: API, ath: await sha256(tokens.accessToken) });
    expect(proof.payload).not.toHaveProperty('nonce');
    // A proof is single-use: each call makes a new one.
    const again = (await readProof((await client.authorizationHeaders({ method: 'POST', url: API })).dpop))!;
    expect(again.payload.jti).not.toBe(proof.payload.jti);
  });

  it('a Bearer token: Authorization Bearer <token>, and no proof', async () => {
    const s = setup({ dpop: false });
    const { client, tokens } = await signIn(s);
    expect(await client.authorizationHeaders({ method: 'GET', url: API })).toEqual({ authorization: `Bearer ${tokens.accessToken}` });
  });
});

describe('presenting the token: client.fetch', () => {
  it('a 401 DPoP error="use_dpop_nonce" with a DPoP-Nonce is answered once with that nonce; the same body is sent again', async () => {
    const s = setup({ rsNonce: true });
    const { client, tokens } = await signIn(s);
    const response = await client.fetch(API, { method: 'POST', body: '{"item":1}', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ orders: [], echoed: '{"item":1}' });
    expect(s.server.api).toHaveLength(2);
    const [first, second] = s.server.api;
    expect(first!.proof!.payload).not.toHaveProperty('nonce');
    expect(second!.proof!.payload).toMatchObject({ htm: 'POST', htu: API, nonce: s.server.rsNonce, ath: await sha256(tokens.accessToken) });
    expect(second!.headers.get('authorization')).toBe(`DPoP ${tokens.accessToken}`);
    expect(second!.headers.get('content-type')).toBe('application/json');
    // The nonce is remembered for the resource server: the next request has it at once.
    expect((await client.fetch(API)).status).toBe(200);
    expect(s.server.api).toHaveLength(3);
  });

  it('nonces are kept per server: the authorization server\'s nonce is not sent to the resource server', async () => {
    const provider = genericOAuth2({ id: 'dpop-as', issuer: AS, requiresIss: false, authorizationEndpoint: `${AS}/authorize`, tokenEndpoint: TOKEN, jwksUri: `${AS}/jwks`, userinfoEndpoint: USERINFO, dpop: true });
    const s = setup({ asNonce: true, rsNonce: true, provider });
    const { client } = await signIn(s);
    // UserInfo (at the authorization server) teaches the client that server's nonce.
    await client.getUserInfo();
    expect(s.server.requests.filter((r) => r.url === USERINFO).at(-1)!.proof!.payload.nonce).toBe(s.server.asNonce);
    const atAs = (await readProof((await client.authorizationHeaders({ method: 'GET', url: USERINFO })).dpop))!;
    expect(atAs.payload.nonce).toBe(s.server.asNonce);
    await client.fetch(API);
    expect(s.server.api[0]!.proof!.payload).not.toHaveProperty('nonce');
    expect(s.server.api[1]!.proof!.payload.nonce).toBe(s.server.rsNonce);
    // And the resource server's nonce does not replace the authorization server's.
    expect((await readProof((await client.authorizationHeaders({ method: 'GET', url: USERINFO })).dpop))!.payload.nonce).toBe(s.server.asNonce);
  });

  it('a second refusal is returned as it is, not answered again', async () => {
    const s = setup({ rsNonce: true });
    s.server.rsRefuseAlways = true;
    const { client } = await signIn(s);
    const response = await client.fetch(API);
    expect(response.status).toBe(401);
    expect(s.server.api).toHaveLength(2);
  });

  it('a streamed body is not sent again: the 401 is returned', async () => {
    const s = setup({ rsNonce: true });
    const { client } = await signIn(s);
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('chunk'));
        controller.close();
      },
    });
    const response = await client.fetch(API, { method: 'PUT', body, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(401);
    expect(response.headers.get('dpop-nonce')).toBe(s.server.rsNonce);
    expect(s.server.api).toHaveLength(1);
  });

  it('a Bearer token is sent as Bearer, and a DPoP challenge to it is not answered', async () => {
    const s = setup({ dpop: false });
    const { client, tokens } = await signIn(s);
    const response = await client.fetch(API);
    expect(response.status).toBe(200);
    expect(s.server.api[0]!.headers.get('authorization')).toBe(`Bearer ${tokens.accessToken}`);
    expect(s.server.api[0]!.headers.has('dpop')).toBe(false);
  });
});

describe('getUserInfo with a DPoP token', () => {
  it('sends the DPoP scheme and a proof with ath for the userinfo URL, answering the server\'s nonce once', async () => {
    const s = setup({ asNonce: true, provider: genericOAuth2({ id: 'dpop-as', issuer: AS, requiresIss: false, authorizationEndpoint: `${AS}/authorize`, tokenEndpoint: TOKEN, jwksUri: `${AS}/jwks`, userinfoEndpoint: USERINFO, dpop: true }) });
    const { client, tokens } = await signIn(s);
    // The exchange taught the client the AS nonce; rotate it so UserInfo meets a refusal first.
    s.server.asNonce = 'as-nonce-rotated';
    expect(await client.getUserInfo()).toEqual({ sub: 'user-1' });
    const calls = s.server.requests.filter((r) => r.url === USERINFO);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.headers.authorization).toBe(`DPoP ${tokens.accessToken}`);
    expect(calls[1]!.proof!.payload).toMatchObject({ htm: 'GET', htu: USERINFO, ath: await sha256(tokens.accessToken), nonce: 'as-nonce-rotated' });
  });
});

describe('inspection', () => {
  it('no inspector message shows a proof, the private key or a token', async () => {
    const events: InspectionEvent[] = [];
    const storage = stringsOnly();
    const s = setup({ asNonce: true, rsNonce: true, storage, clientSecret: SECRET, inspect: (event) => events.push(event) });
    const client = s.make();
    const { url } = await client.startAuthorization({ scopes: ['api:read'] });
    const tokens = await client.completeAuthorization(s.server.approve(url));
    const refreshed = await client.refresh();
    const service = await client.clientCredentials({ scopes: ['api:read'] });
    await client.fetch(API);
    const key = JSON.parse((await storage.get(dpopKeyKey('dpop-as', 'app')))!) as JWK;
    const proofs = [...s.server.requests.map((r) => r.headers.dpop), ...s.server.api.map((r) => r.headers.get('dpop'))].filter((p): p is string => !!p);
    expect(proofs.length).toBeGreaterThanOrEqual(6);
    expect(events.length).toBeGreaterThan(10);
    const stream = events.map(serialise).join('\n');
    const secrets: Record<string, string> = {
      'private key d': key.d!,
      'access token': tokens.accessToken,
      'refresh token': tokens.refreshToken!,
      'refreshed access token': refreshed.accessToken,
      'refreshed refresh token': refreshed.refreshToken!,
      'client credentials token': service.accessToken,
      'client secret': SECRET,
    };
    proofs.forEach((proof, i) => {
      secrets[`proof ${i}`] = proof;
      // A proof's signature alone is enough to tell it.
      secrets[`proof ${i} signature`] = proof.split('.')[2]!;
    });
    for (const [name, value] of Object.entries(secrets)) expect(stream.includes(value), `${name} leaked into the inspection stream`).toBe(false);
  });
});

describe('one DPoP session per client: its machines share the nonces and the key', () => {
  // createOAuthClient gives each provided machine (code, refresh, client credentials) a services
  // object of its own (provideServices → resolveServices); grantSession is keyed by their shared
  // storage and http, so the nonce the code exchange learned is known to the refresh and to fetch.
  it('the nonce the code exchange learned is sent on the first refresh (no second use_dpop_nonce round trip)', async () => {
    const s = setup({ asNonce: true });
    const { client } = await signIn(s);
    expect(s.server.tokenRequests()).toHaveLength(2); // the exchange: refused once, then sent with the nonce
    await client.refresh();
    const refreshes = s.server.tokenRequests().slice(2);
    expect(refreshes.map((r) => r.proof!.payload.nonce)).toEqual([s.server.asNonce]);
  });
});

// ---- Mutation-testing additions --------------------------------------------------------------

function formData(fields: Record<string, string>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return form;
}

describe('client.fetch: the method, and which bodies are sent again', () => {
  it('the method is upper-cased, GET by default, for the request and its proof alike', async () => {
    const s = setup();
    const { client } = await signIn(s);
    await client.fetch(API);
    await client.fetch(API, { method: 'patch', body: '{}' });
    expect(s.server.api.map((r) => [r.method, r.proof!.payload.htm])).toEqual([
      ['GET', 'GET'],
      ['PATCH', 'PATCH'],
    ]);
  });

  it.each<[string, () => BodyInit | null]>([
    ['no body (null)', () => null],
    ['a Blob', () => new Blob(['{"item":1}'], { type: 'application/json' })],
    ['FormData', () => formData({ note: 'x' })],
    ['URLSearchParams', () => new URLSearchParams({ item: '1' })],
    ['bytes', () => new TextEncoder().encode('{"item":1}')],
    ['an ArrayBuffer', () => new TextEncoder().encode('{"item":1}').buffer],
  ])('a nonce challenge to a request with %s is answered once', async (_name, body) => {
    const s = setup({ rsNonce: true });
    const { client } = await signIn(s);
    const response = await client.fetch(API, { method: 'POST', body: body() });
    expect(response.status).toBe(200);
    expect(s.server.api).toHaveLength(2);
    expect(s.server.api[1]!.proof!.payload.nonce).toBe(s.server.rsNonce);
  });
});

describe('a DPoP-bound token with a provider that has no dpop data', () => {
  it('is invalid_configuration, field provider.dpop, before any request', async () => {
    const s = setup();
    await signIn(s);
    // The same stored tokens, read by a client whose provider (same id) lost its dpop data.
    const plain = createOAuthClient({ provider: dpopProvider({ dpop: false }), clientId: 'app', redirectUri: REDIRECT, http: s.server.http, storage: s.storage, clock: { now: () => NOW_S * 1000 } });
    const sent = s.server.api.length;
    for (const call of [() => plain.authorizationHeaders({ method: 'GET', url: API }), () => plain.fetch(API)]) {
      expect(await rejection(call())).toMatchObject({
        code: 'invalid_configuration',
        field: 'provider.dpop',
        message: 'the token is DPoP-bound but provider "dpop-as" has no dpop data',
      });
    }
    expect(s.server.api).toHaveLength(sent);
  });
});

describe('the session’s key pair', () => {
  it('is of the first of the provider’s dpop algs', async () => {
    const provider = genericOAuth2({ id: 'dpop-as', authorizationEndpoint: `${AS}/authorize`, tokenEndpoint: TOKEN, dpop: { algs: ['EdDSA', 'ES256'] } });
    const s = setup({ provider, clientSecret: SECRET });
    await s.make().clientCredentials({ scopes: ['api:read'] });
    expect(s.server.tokenRequests()[0]!.proof!.header).toMatchObject({ alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519' } });
  });

  it('is read from the storage once per client, not on every request', async () => {
    const storage = stringsOnly();
    let reads = 0;
    const counting: Storage = { ...storage, get: (k) => (k === dpopKeyKey('dpop-as', 'app') && reads++, storage.get(k)) };
    const s = setup({ storage: counting });
    const { client } = await signIn(s);
    const afterSignIn = reads;
    expect(afterSignIn).toBeGreaterThan(0);
    await client.refresh();
    await client.authorizationHeaders({ method: 'GET', url: API });
    await client.fetch(API);
    expect(reads).toBe(afterSignIn);
  });

  it('a failure to load it is not kept: the next request loads it again', async () => {
    const inner = memoryStorage();
    let down = true;
    const storage: Storage = { ...inner, getKeyPair: (k) => (down ? Promise.reject(new Error('storage down')) : inner.getKeyPair!(k)) };
    const s = setup({ storage, clientSecret: SECRET });
    const client = s.make();
    expect(await rejection(client.clientCredentials({ scopes: ['api:read'] }))).toMatchObject({ code: 'storage_error' });
    expect(s.server.tokenRequests()).toHaveLength(0);
    down = false;
    expect((await client.clientCredentials({ scopes: ['api:read'] })).tokenType).toBe('DPoP');
  });
});

describe('getUserInfo with a DPoP token and no nonce asked', () => {
  it('is one request', async () => {
    const s = setup({ provider: genericOAuth2({ id: 'dpop-as', issuer: AS, requiresIss: false, authorizationEndpoint: `${AS}/authorize`, tokenEndpoint: TOKEN, jwksUri: `${AS}/jwks`, userinfoEndpoint: USERINFO, dpop: true }) });
    const { client } = await signIn(s);
    expect(await client.getUserInfo()).toEqual({ sub: 'user-1' });
    expect(s.server.requests.filter((r) => r.url === USERINFO)).toHaveLength(1);
  });
});
