import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createActor, toPromise, waitFor, type InspectionEvent } from 'xstate';
import { beforeAll, describe, expect, it } from 'vitest';
import { authorizationCodeMachine, provideServices } from '../../machines/index.js';
import { createOAuthClient, memoryStorage, OAuthError, REDACTED, secret, type Http, type Provider, type Storage } from '../../src/index.js';
import { pendingFlowKey, tokensKey } from '../../src/grants/storage-keys.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { json, oauthError, readRequest, type LoggedRequest } from '../../src/testing/kit.js';
import { serialise } from '../support/serialise-inspection.js';

/**
 * OpenID Connect sign-in wired into the grants, in process: jose-made RS256 keys, and a fake OP
 * (a function returning Responses) serving the JWKS, the token endpoint and UserInfo. Each test
 * bends one answer to show one rule refusing it.
 */

const ISSUER = 'https://op.example';
const CLIENT = 'rp-app';
const REDIRECT = 'http://127.0.0.1:8080/callback';
const SUB = 'sub-7f3a9c21';
const EMAIL = 'ada.lovelace@example.test';
const NOW_S = 1_700_000_000;

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let signing: KeyPair;
let stranger: KeyPair;

beforeAll(async () => {
  [signing, stranger] = await Promise.all([generateKeyPair('RS256'), generateKeyPair('RS256')]);
});

const sign = (claims: Record<string, unknown>, options: { key?: KeyPair; kid?: string } = {}) =>
  new SignJWT(Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined)))
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'k1' })
    .sign((options.key ?? signing).privateKey);

interface IssueContext {
  grant: 'authorization_code' | 'refresh_token';
  /** The claims the OP would sign by default (nonce included on a sign-in). */
  claims: Record<string, unknown>;
}

/** The fake OP. `answer` bends the token response (the default one given, signed). */
function fakeOp(clock: { now(): number }) {
  const requests: LoggedRequest[] = [];
  const codes = new Map<string, { nonce: string | null; scope: string }>();
  let counter = 0;
  const op = {
    requests,
    tokenRequests: () => requests.filter((r) => r.url === `${ISSUER}/token`),
    userinfoRequests: () => requests.filter((r) => r.url === `${ISSUER}/userinfo`),
    /** Changes the token response; return undefined fields to drop them. */
    answer: async (body: Record<string, unknown>, _context: IssueContext): Promise<Record<string, unknown>> => body,
    userinfo: (): Response => json({ sub: SUB, email: EMAIL }),
    /** The JWKS answer; replace it to break the JWKS. */
    jwks: async (): Promise<Response> => json({ keys: [{ ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }),
    http: (async (input, init) => {
      const { logged } = await readRequest(input, init);
      requests.push(logged);
      const path = new URL(logged.url).pathname;
      if (path === '/jwks') return op.jwks();
      if (path === '/userinfo') return op.userinfo();
      if (path !== '/token') return new Response('Not Found', { status: 404 });
      const form = new URLSearchParams(logged.rawBody);
      const nowS = Math.floor(clock.now() / 1000);
      const base = { iss: ISSUER, sub: SUB, aud: CLIENT, exp: nowS + 300, iat: nowS, email: EMAIL };
      let context: IssueContext;
      let scope: string;
      if (form.get('grant_type') === 'authorization_code') {
        const code = codes.get(form.get('code') ?? '');
        if (!code) return oauthError('invalid_grant', 'unknown code');
        codes.delete(form.get('code')!);
        scope = code.scope;
        context = { grant: 'authorization_code', claims: { ...base, ...(code.nonce === null ? {} : { nonce: code.nonce }) } };
      } else if (form.get('grant_type') === 'refresh_token') {
        scope = 'openid email offline_access';
        context = { grant: 'refresh_token', claims: base };
      } else {
        return oauthError('unsupported_grant_type', 'no');
      }
      counter++;
      const body: Record<string, unknown> = { access_token: `at-${counter}`, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${counter}`, scope };
      if (scope.split(' ').includes('openid')) body.id_token = await sign(context.claims);
      const answered = await op.answer(body, context);
      return json(Object.fromEntries(Object.entries(answered).filter(([, v]) => v !== undefined)));
    }) as Http,
    /** The user approving at the authorization endpoint: the nonce of the request is kept with the code. */
    approve(url: string): string {
      const sent = new URL(url).searchParams;
      const code = `code-${++counter}`;
      codes.set(code, { nonce: sent.get('nonce'), scope: sent.get('scope') ?? '' });
      const back = new URL(sent.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', sent.get('state')!);
      back.searchParams.set('iss', ISSUER);
      return back.toString();
    },
  };
  return op;
}

const openIdProvider = (options: { userinfo?: boolean; openid?: boolean } = {}): Provider =>
  genericOAuth2({
    id: 'op',
    issuer: ISSUER,
    authorizationEndpoint: `${ISSUER}/authorize`,
    tokenEndpoint: `${ISSUER}/token`,
    ...(options.openid === false ? {} : { jwksUri: `${ISSUER}/jwks` }),
    ...(options.userinfo === false ? {} : { userinfoEndpoint: `${ISSUER}/userinfo` }),
  });

function setup(options: { provider?: Provider; storage?: Storage } = {}) {
  let now = NOW_S * 1000;
  const clock = { now: () => now };
  const op = fakeOp(clock);
  const storage = options.storage ?? memoryStorage({ clock });
  const provider = options.provider ?? openIdProvider();
  const make = (extra: { inspect?: (event: InspectionEvent) => void } = {}) =>
    createOAuthClient({ provider, clientId: CLIENT, redirectUri: REDIRECT, http: op.http, storage, clock, retry: { baseDelayMs: 1, maxDelayMs: 2 }, ...extra });
  return { op, storage, clock, make, advance: (ms: number) => (now += ms) };
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

async function signIn(s: ReturnType<typeof setup>, scopes = ['openid', 'email', 'offline_access']) {
  const client = s.make();
  const { url, state } = await client.startAuthorization({ scopes });
  const tokens = await client.completeAuthorization(s.op.approve(url));
  return { client, url, state, tokens };
}

describe('OpenID Connect sign-in (code flow with openid)', () => {
  it('sends a nonce, validates the id_token with it, and returns its claims on the TokenSet', async () => {
    const s = setup();
    const { url, tokens } = await signIn(s);
    const nonce = new URL(url).searchParams.get('nonce');
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const idToken = tokens.extra.id_token as string;
    expect(decodeJwt(idToken).nonce).toBe(nonce);
    expect(tokens.idTokenClaims).toEqual({ iss: ISSUER, sub: SUB, aud: CLIENT, exp: NOW_S + 300, iat: NOW_S, email: EMAIL, nonce });
    expect(s.op.requests.filter((r) => r.url === `${ISSUER}/jwks`)).toHaveLength(1);
  });

  it('each flow has its own nonce', async () => {
    const s = setup();
    const client = s.make();
    const urls = await Promise.all([1, 2, 3].map(() => client.startAuthorization({ scopes: ['openid'] })));
    expect(new Set(urls.map(({ url }) => new URL(url).searchParams.get('nonce'))).size).toBe(3);
  });

  it('a token response without an id_token is invalid_response, field response.body.id_token, and nothing is stored', async () => {
    const s = setup();
    s.op.answer = async (body) => ({ ...body, id_token: undefined });
    const client = s.make();
    const { url } = await client.startAuthorization({ scopes: ['openid'] });
    const error = await rejection(client.completeAuthorization(s.op.approve(url)));
    expect(error).toMatchObject({ code: 'invalid_response', field: 'response.body.id_token', status: 200, retryable: false, requestSent: true });
    expect(error.message).toBe('the token response of an OpenID Connect sign-in has no id_token (OIDC Core §3.1.3.3)');
    expect(await client.getStoredTokens()).toBeUndefined();
    expect(s.op.tokenRequests()).toHaveLength(1);
  });

  it('an id_token that is not a string is invalid_response, field response.body.id_token', async () => {
    const s = setup();
    s.op.answer = async (body) => ({ ...body, id_token: 42 });
    const client = s.make();
    const { url } = await client.startAuthorization({ scopes: ['openid'] });
    expect(await rejection(client.completeAuthorization(s.op.approve(url)))).toMatchObject({
      code: 'invalid_response',
      field: 'response.body.id_token',
      status: 200,
      requestSent: true,
      message: '"response" body "id_token" property must be a non-empty string',
    });
  });

  it.each([
    ['another nonce', 'id_token.nonce', (claims: Record<string, unknown>) => sign({ ...claims, nonce: 'another-flows-nonce-0123456789abcdef012345' })],
    ['no nonce', 'id_token.nonce', (claims: Record<string, unknown>) => sign({ ...claims, nonce: undefined })],
    ['another audience', 'id_token.aud', (claims: Record<string, unknown>) => sign({ ...claims, aud: 'other-app' })],
    ['an expired one', 'id_token.exp', (claims: Record<string, unknown>) => sign({ ...claims, iat: NOW_S - 7200, exp: NOW_S - 3600 })],
    ['another issuer', 'id_token.iss', (claims: Record<string, unknown>) => sign({ ...claims, iss: 'https://evil.example' })],
    ['a key not in the JWKS', 'id_token.kid', (claims: Record<string, unknown>) => sign(claims, { key: stranger, kid: 'k-unknown' })],
    ['a forged signature', 'id_token.signature', (claims: Record<string, unknown>) => sign(claims, { key: stranger })],
  ])('an id_token with %s is refused naming the claim %s; nothing is stored', async (_name, field, forge) => {
    const s = setup();
    s.op.answer = async (body, context) => ({ ...body, id_token: await forge(context.claims) });
    const client = s.make();
    const { url } = await client.startAuthorization({ scopes: ['openid'] });
    const nonce = new URL(url).searchParams.get('nonce')!;
    const error = await rejection(client.completeAuthorization(s.op.approve(url)));
    // Refused after the server answered: requestSent, whatever the check said.
    expect(error).toMatchObject({ code: 'invalid_response', field, retryable: false, requestSent: true });
    expect(error.message).not.toContain(nonce);
    expect(await client.getStoredTokens()).toBeUndefined();
    // Refused after the server answered: not retried (a code is single-use).
    expect(s.op.tokenRequests()).toHaveLength(1);
  });

  it('without the openid scope: no nonce is sent and no id_token is asked for', async () => {
    const s = setup();
    const { url, tokens } = await signIn(s, ['email']);
    expect(new URL(url).searchParams.has('nonce')).toBe(false);
    expect(tokens.idTokenClaims).toBeUndefined();
    expect(await s.make().getStoredTokens()).toEqual(tokens);
    expect(s.op.requests.filter((r) => r.url === `${ISSUER}/jwks`)).toHaveLength(0);
  });

  it('a provider without openid data sends no nonce with the openid scope, and leaves the id_token unchecked in extra', async () => {
    const s = setup({ provider: openIdProvider({ openid: false }) });
    s.op.answer = async (body) => ({ ...body, id_token: 'not.a.jwt' });
    const { url, tokens } = await signIn(s, ['openid']);
    expect(new URL(url).searchParams.has('nonce')).toBe(false);
    expect(tokens.idTokenClaims).toBeUndefined();
    expect(tokens.extra.id_token).toBe('not.a.jwt');
  });

  it('extraParams may not set the nonce of a sign-in', async () => {
    const s = setup();
    await expect(s.make().startAuthorization({ scopes: ['openid'], extraParams: { nonce: 'mine' } })).rejects.toMatchObject({ code: 'invalid_configuration', field: 'extraParams.nonce' });
  });
});

describe('the nonce in the pending record', () => {
  it('is kept with the flow: a second client sharing the storage completes the sign-in', async () => {
    const s = setup();
    const { url, state } = await s.make().startAuthorization({ scopes: ['openid'] });
    const record = JSON.parse((await s.storage.get(pendingFlowKey('op', CLIENT, state)))!) as { nonce?: string };
    expect(record.nonce).toBe(new URL(url).searchParams.get('nonce'));
    const tokens = await s.make().completeAuthorization(s.op.approve(url));
    expect(tokens.idTokenClaims?.nonce).toBe(record.nonce);
  });

  it('a sign-in record without its nonce is storage_error, field storage.pendingFlow.nonce, before any request', async () => {
    const s = setup();
    const client = s.make();
    const { url, state } = await client.startAuthorization({ scopes: ['openid'] });
    const key = pendingFlowKey('op', CLIENT, state);
    const { nonce: _dropped, ...record } = JSON.parse((await s.storage.get(key))!) as Record<string, unknown>;
    await s.storage.set(key, JSON.stringify(record));
    const error = await rejection(client.completeAuthorization(s.op.approve(url)));
    expect(error).toMatchObject({ code: 'storage_error', field: 'storage.pendingFlow.nonce' });
    expect(s.op.tokenRequests()).toHaveLength(0);
  });
});

describe('refresh with OpenID Connect (OIDC Core §12.2)', () => {
  it('a new id_token for the same user replaces the claims', async () => {
    const s = setup();
    const { client, tokens } = await signIn(s);
    s.advance(60_000);
    const refreshed = await client.refresh();
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.idTokenClaims).toMatchObject({ sub: SUB, iat: NOW_S + 60 });
    expect(refreshed.idTokenClaims).not.toHaveProperty('nonce');
    expect((await client.getStoredTokens())?.idTokenClaims?.iat).toBe(NOW_S + 60);
  });

  it('a new id_token with another sub is refused, field id_token.sub, and the stored set is not replaced', async () => {
    const s = setup();
    const { client, tokens } = await signIn(s);
    s.op.answer = async (body, context) => (context.grant === 'refresh_token' ? { ...body, id_token: await sign({ ...context.claims, sub: 'someone-else' }) } : body);
    const error = await rejection(client.refresh());
    expect(error).toMatchObject({ code: 'invalid_response', field: 'id_token.sub' });
    expect(await client.getStoredTokens()).toEqual(tokens);
  });

  it('a new id_token from another issuer is refused, naming the claim', async () => {
    const s = setup();
    const { client, tokens } = await signIn(s);
    s.op.answer = async (body, context) => (context.grant === 'refresh_token' ? { ...body, id_token: await sign({ ...context.claims, iss: 'https://evil.example' }) } : body);
    expect(await rejection(client.refresh())).toMatchObject({ code: 'invalid_response', field: 'id_token.iss' });
    expect(await client.getStoredTokens()).toEqual(tokens);
  });

  it('no id_token in the refresh answer keeps the previous claims', async () => {
    const s = setup();
    const { client, tokens } = await signIn(s);
    s.op.answer = async (body, context) => (context.grant === 'refresh_token' ? { ...body, id_token: undefined } : body);
    const refreshed = await client.refresh();
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.idTokenClaims).toEqual(tokens.idTokenClaims);
    expect((await client.getStoredTokens())?.idTokenClaims).toEqual(tokens.idTokenClaims);
  });
});

describe('the claims in storage', () => {
  it('survive storage: a second client reads them back', async () => {
    const s = setup();
    const { tokens } = await signIn(s);
    const stored = await s.make().getStoredTokens();
    expect(stored?.idTokenClaims).toEqual(tokens.idTokenClaims);
    expect(stored?.idTokenClaims?.sub).toBe(SUB);
  });

  it.each([
    [{ sub: '' }, 'storage.tokens.idTokenClaims.sub'],
    [{ iss: 7 }, 'storage.tokens.idTokenClaims.iss'],
    [{ exp: 'tomorrow' }, 'storage.tokens.idTokenClaims.exp'],
    [{ aud: [1] }, 'storage.tokens.idTokenClaims.aud'],
  ])('are validated when read: %j is storage_error, field %s', async (corruption, field) => {
    const s = setup();
    const { tokens } = await signIn(s);
    const key = tokensKey('op', CLIENT);
    await s.storage.set(key, JSON.stringify({ ...tokens, idTokenClaims: { ...tokens.idTokenClaims, ...corruption } }));
    expect(await rejection(s.make().getStoredTokens())).toMatchObject({ code: 'storage_error', field });
  });

  it('claims that are not an object are storage_error, field storage.tokens.idTokenClaims', async () => {
    const s = setup();
    const { tokens } = await signIn(s);
    await s.storage.set(tokensKey('op', CLIENT), JSON.stringify({ ...tokens, idTokenClaims: 'sub-7f3a9c21' }));
    expect(await rejection(s.make().getStoredTokens())).toMatchObject({ code: 'storage_error', field: 'storage.tokens.idTokenClaims' });
  });
});

/** The text with every copy of the (public) authorization URL taken out. */
const outsideUrl = (text: string, url: string) => text.split(url).join('[authorization url]');

describe('the claims are sealed like the tokens', () => {
  it('a machine\'s output and snapshot show idTokenClaims as [redacted] only; read by name they are there', async () => {
    const clock = { now: () => NOW_S * 1000 };
    const op = fakeOp(clock);
    const machine = provideServices(authorizationCodeMachine, { http: op.http, storage: memoryStorage({ clock }), clock });
    const actor = createActor(machine, { input: { provider: openIdProvider(), client: { clientId: CLIENT, redirectUri: REDIRECT }, scopes: ['openid', 'email'] } }).start();
    const waiting = await waitFor(actor, (s) => s.matches('awaitingCallback') || s.status !== 'active');
    const url = waiting.context.authorizationUrl!;
    const nonce = new URL(url).searchParams.get('nonce')!;
    // The nonce is kept redacted; it is public only where it must go, in the URL the user is sent to (like the state).
    expect(JSON.stringify(waiting)).toContain(`"nonce":"${REDACTED}"`);
    expect(outsideUrl(JSON.stringify(waiting), url)).not.toContain(nonce);
    actor.send({ type: 'callback', url: secret(op.approve(url)) });
    const output = await toPromise(actor);
    expect(output.status).toBe('succeeded');
    if (output.status !== 'succeeded') return;
    expect(output.tokens.idTokenClaims?.sub).toBe(SUB);
    for (const text of [JSON.stringify(output), JSON.stringify(actor.getSnapshot()), JSON.stringify(output.tokens)]) {
      expect(text).toContain(`"idTokenClaims":"${REDACTED}"`);
      for (const value of [SUB, EMAIL, nonce]) expect(outsideUrl(text, url)).not.toContain(value);
    }
    expect(Object.keys(output.tokens)).not.toContain('idTokenClaims');
    expect(() => ((output.tokens.idTokenClaims as Record<string, unknown>).sub = 'x')).toThrow();
  });

  it('no inspector message of a sign-in and a refresh shows a claim, the id_token or the nonce', async () => {
    const s = setup();
    const events: InspectionEvent[] = [];
    const client = s.make({ inspect: (event) => events.push(event) });
    const { url } = await client.startAuthorization({ scopes: ['openid', 'email', 'offline_access'] });
    const tokens = await client.completeAuthorization(s.op.approve(url));
    const refreshed = await client.refresh();
    const stream = events.map(serialise).join('\n');
    expect(stream).toContain('"idTokenClaims"');
    expect(stream).toContain(REDACTED);
    for (const value of [SUB, EMAIL, new URL(url).searchParams.get('nonce')!, tokens.extra.id_token as string, refreshed.extra.id_token as string]) {
      expect(outsideUrl(stream, url).includes(value), value.slice(0, 20)).toBe(false);
    }
  });
});

describe('getUserInfo', () => {
  it('calls the userinfo endpoint with the access token; the sub is the id_token\'s', async () => {
    const s = setup();
    const { client, tokens } = await signIn(s);
    expect(await client.getUserInfo()).toEqual({ sub: SUB, email: EMAIL });
    const [request] = s.op.userinfoRequests();
    expect(request).toMatchObject({ method: 'GET', headers: expect.objectContaining({ authorization: `Bearer ${tokens.accessToken}` }) });
    expect(request!.headers.dpop).toBeUndefined();
  });

  it('another sub is invalid_response, field userinfo.sub', async () => {
    const s = setup();
    const { client } = await signIn(s);
    s.op.userinfo = () => json({ sub: 'someone-else', email: 'mallory@example.test' });
    const error = await rejection(client.getUserInfo());
    expect(error).toMatchObject({ code: 'invalid_response', field: 'userinfo.sub' });
    expect(error.message).not.toContain('someone-else');
  });

  it('a 401 with WWW-Authenticate Bearer error="invalid_token" is invalid_token with its status', async () => {
    const s = setup();
    const { client } = await signIn(s);
    s.op.userinfo = () => new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer realm="op", error="invalid_token", error_description="The access token expired"' } });
    const error = await rejection(client.getUserInfo());
    expect(error).toMatchObject({ code: 'invalid_token', status: 401, description: 'The access token expired', requestSent: true });
  });

  it('without openid.userinfoUrl it is invalid_configuration, before any request', async () => {
    const s = setup({ provider: openIdProvider({ userinfo: false }) });
    const { client } = await signIn(s);
    const sent = s.op.requests.length;
    expect(await rejection(client.getUserInfo())).toMatchObject({ code: 'invalid_configuration', field: 'provider.openid.userinfoUrl' });
    expect(s.op.requests).toHaveLength(sent);
  });

  it('with nothing stored it is reauthorization_required', async () => {
    const s = setup();
    expect(await rejection(s.make().getUserInfo())).toMatchObject({ code: 'reauthorization_required' });
    expect(s.op.userinfoRequests()).toHaveLength(0);
  });
});

describe('one JWKS cache per client: its machines share it', () => {
  // docs/oidc.md: the JWKS is fetched once and kept for 10 minutes. The code and refresh machines of
  // one client each have a services object of their own; grantSession (the JWKS cache) is keyed by
  // their shared storage and http, so the refresh uses the JWKS the sign-in fetched.
  it('a sign-in and the refresh after it fetch the JWKS once', async () => {
    const s = setup();
    const { client } = await signIn(s);
    await client.refresh();
    expect(s.op.requests.filter((r) => r.url === `${ISSUER}/jwks`)).toHaveLength(1);
  });
});

describe('a refreshed id_token\'s nonce, when both have one, is the sign-in\'s', () => {
  // OIDC Core §12.2 names iss, sub, aud, azp and auth_time; servers that put a nonce in a refreshed
  // id_token (oidc-provider does) repeat the sign-in's: another nonce is another session's token.
  it('a refreshed id_token with another nonce is refused, field id_token.nonce, and the stored set kept', async () => {
    const s = setup();
    const { client, tokens } = await signIn(s);
    s.op.answer = async (body, context) =>
      context.grant === 'refresh_token' ? { ...body, id_token: await sign({ ...context.claims, nonce: 'not-the-sign-in-nonce-0123456789abcdefghij' }) } : body;
    expect(await rejection(client.refresh())).toMatchObject({ code: 'invalid_response', field: 'id_token.nonce' });
    expect(await client.getStoredTokens()).toEqual(tokens);
  });

  it('a refreshed id_token with the sign-in\'s own nonce is accepted', async () => {
    const s = setup();
    const { client, tokens } = await signIn(s);
    s.op.answer = async (body, context) => (context.grant === 'refresh_token' ? { ...body, id_token: await sign({ ...context.claims, nonce: tokens.idTokenClaims!.nonce }) } : body);
    expect((await client.refresh()).idTokenClaims?.nonce).toBe(tokens.idTokenClaims!.nonce);
  });
});

// ---- Mutation-testing additions --------------------------------------------------------------

describe('id_token values that are no id_token', () => {
  it('an empty id_token is invalid_response, field response.body.id_token, saying so', async () => {
    const s = setup();
    s.op.answer = async (body) => ({ ...body, id_token: '' });
    const client = s.make();
    const { url } = await client.startAuthorization({ scopes: ['openid'] });
    expect(await rejection(client.completeAuthorization(s.op.approve(url)))).toMatchObject({
      code: 'invalid_response',
      field: 'response.body.id_token',
      message: '"response" body "id_token" property must be a non-empty string',
    });
  });

  it('id_token: null is an absent id_token: a sign-in says it has none; a refresh keeps the previous claims', async () => {
    const s = setup();
    s.op.answer = async (body, context) => (context.grant === 'authorization_code' ? { ...body, id_token: null } : body);
    const client = s.make();
    const { url } = await client.startAuthorization({ scopes: ['openid'] });
    expect((await rejection(client.completeAuthorization(s.op.approve(url)))).message).toBe('the token response of an OpenID Connect sign-in has no id_token (OIDC Core §3.1.3.3)');

    const t = setup();
    const { client: signedIn, tokens } = await signIn(t);
    t.op.answer = async (body, context) => (context.grant === 'refresh_token' ? { ...body, id_token: null } : body);
    const refreshed = await signedIn.refresh();
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.idTokenClaims).toEqual(tokens.idTokenClaims);
  });
});

describe('a JWKS failure during a sign-in: the code was redeemed, so nothing is retried', () => {
  it('a JWKS that may recover (503) is still reported as not retryable, with its status and field, the first error as cause', async () => {
    const s = setup();
    s.op.jwks = async () => new Response('unavailable', { status: 503 });
    const client = s.make();
    const { url } = await client.startAuthorization({ scopes: ['openid'] });
    const error = await rejection(client.completeAuthorization(s.op.approve(url)));
    expect(error).toMatchObject({ code: 'invalid_response', status: 503, field: 'jwks', retryable: false, requestSent: true });
    expect(error.cause).toBeInstanceOf(OAuthError);
    expect(error.cause).toMatchObject({ code: 'invalid_response', status: 503, field: 'jwks', retryable: true });
    expect(error.message).toBe((error.cause as OAuthError).message);
    expect(s.op.tokenRequests()).toHaveLength(1);
    expect(await client.getStoredTokens()).toBeUndefined();
  });

  it('a JWKS refusal that is final already (404) is passed on as it is', async () => {
    const s = setup();
    s.op.jwks = async () => new Response('gone', { status: 404 });
    const client = s.make();
    const { url } = await client.startAuthorization({ scopes: ['openid'] });
    const error = await rejection(client.completeAuthorization(s.op.approve(url)));
    expect(error).toMatchObject({ code: 'invalid_response', status: 404, field: 'jwks', retryable: false, requestSent: true });
    expect(error.cause).toBeUndefined();
    expect(s.op.tokenRequests()).toHaveLength(1);
  });

  it('an OAuthError the http service throws for the JWKS keeps its code, serverCode and status, and is not retryable', async () => {
    const s = setup();
    s.op.jwks = async () => {
      throw new OAuthError('gateway_busy', 'the egress gateway refused the call', { serverCode: 'gateway_busy', status: 429, retryable: true });
    };
    const client = s.make();
    const { url } = await client.startAuthorization({ scopes: ['openid'] });
    const error = await rejection(client.completeAuthorization(s.op.approve(url)));
    expect(error).toMatchObject({ code: 'unknown_error', serverCode: 'gateway_busy', status: 429, retryable: false, requestSent: true, message: 'the egress gateway refused the call' });
    expect(error.field).toBeUndefined();
    expect(s.op.tokenRequests()).toHaveLength(1);
  });

  it('a refused claim is reported requestSent, with the check’s own error as cause', async () => {
    const s = setup();
    s.op.answer = async (body, context) => ({ ...body, id_token: await sign({ ...context.claims, aud: 'other-app' }) });
    const client = s.make();
    const { url } = await client.startAuthorization({ scopes: ['openid'] });
    const error = await rejection(client.completeAuthorization(s.op.approve(url)));
    expect(error).toMatchObject({ code: 'invalid_response', field: 'id_token.aud', retryable: false, requestSent: true });
    expect(error.cause).toMatchObject({ code: 'invalid_response', field: 'id_token.aud' });
  });
});

describe('getUserInfo with a Bearer token', () => {
  it('a DPoP use_dpop_nonce challenge to a Bearer token is not answered: one request, the 401 reported', async () => {
    const s = setup();
    const { client } = await signIn(s);
    s.op.userinfo = () =>
      new Response(null, { status: 401, headers: { 'www-authenticate': 'DPoP error="use_dpop_nonce", Bearer error="invalid_token"', 'dpop-nonce': 'rs-nonce-1' } });
    const error = await rejection(client.getUserInfo());
    expect(error).toMatchObject({ status: 401, requestSent: true });
    expect(s.op.userinfoRequests()).toHaveLength(1);
  });
});
