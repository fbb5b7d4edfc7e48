import { join } from 'node:path';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importOidcProvider, startOidcServer, type OidcServer } from '../../src/cli/oidc-server.js';
import type { TokenSet } from '../../src/tokens.js';
import type { DpopAppState, DpopPageConfig, StorageScan } from './fixtures/dpop-app.js';
import { chromiumSkipReason, launchChromium } from './support/chromium.js';
import { bundlePage, htmlPage, startPageServer, type PageServer } from './support/page-server.js';

/**
 * grantflow/browser with DPoP (RFC 9449) and PAR (RFC 9126) in headless Chromium, against
 * oidc-provider on 127.0.0.1 that requires both (a DPoP nonce in every proof, every authorization
 * request pushed first), with opaque access tokens for its UserInfo endpoint. The page runs under a
 * strict CSP (scripts from its origin only, the network to the authorization server only), discovers
 * the provider in the page, and keeps everything in IndexedDB: the DPoP CryptoKeyPair natively,
 * its private key non-extractable. The browser itself follows the redirects; oidc-provider's login
 * and consent are automatic (src/cli/oidc-server.ts), as in browser-auth.test.ts.
 */

// In CI a missing Chromium is a failure, not a skip.
if (chromiumSkipReason && process.env.CI) throw new Error(`Browser suite cannot run in CI: ${chromiumSkipReason}`);
if (chromiumSkipReason) console.warn(`[grantflow] Browser DPoP suite skipped: ${chromiumSkipReason}`);

const CLIENT_ID = 'spa';
const PROVIDER_ID = 'local-oidc';
/** Short enough to reach the refresh window (a quarter of the lifetime: 2.5 s) within the test, long enough for the steps before it. */
const ACCESS_TOKEN_TTL_S = 10;
const DPOP_KEY = `grantflow:${PROVIDER_ID}:${CLIENT_ID}:dpop-key`;

let browser: Browser | undefined;
let pages: PageServer | undefined;
let oidc: OidcServer | undefined;
let config: DpopPageConfig | undefined;
/**
 * The server's own account of the requests it refused (`POST /request use_dpop_nonce`), in order:
 * the browser cannot always show a body (a PAR answer's is gone once the page has navigated).
 */
const refusals: string[] = [];

type EventSource = { on(event: string, listener: (ctx: { method: string; path: string }, error: { error?: string; message: string }) => void): void };

/** oidc-provider's Provider, telling `refusals` of every error answer of the endpoints the page calls. */
async function tappedProvider(): Promise<unknown> {
  const Provider = (await importOidcProvider()) as new (...args: any[]) => EventSource;
  return class extends Provider {
    constructor(...args: any[]) {
      super(...args);
      for (const name of ['pushed_authorization_request.error', 'grant.error', 'userinfo.error']) {
        this.on(name, (ctx, error) => refusals.push(`${ctx.method} ${ctx.path} ${error.error ?? error.message}`));
      }
    }
  };
}

/** A request the page made to the authorization server, as the browser sent it and as it was answered. */
interface Exchange {
  method: string;
  path: string;
  status: number | undefined;
  /** Whether the answer carried a DPoP-Nonce header (readable by the page: the server exposes it to CORS). */
  nonceOffered: boolean;
  grantType?: string;
  /** The form a POST sent (a pushed request's parameters). */
  form?: Record<string, string>;
  /** The Authorization scheme sent. */
  authorization?: string;
  proof?: { typ: unknown; alg: unknown; jkt: string; htm: unknown; htu: unknown; nonce: boolean; ath: boolean };
}

interface Session {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions of every page of the context, with where the browser says they came from. */
  errors: Array<{ text: string; url: string }>;
  /** Authorization requests the browser navigated to. */
  authorizationUrls: string[];
  /** Every non-navigation request to the authorization server, in the order they were sent. */
  exchanges(): Promise<Exchange[]>;
}

async function describeRequest(request: Request): Promise<Exchange> {
  const url = new URL(request.url());
  const response = await request.response();
  const headers = await request.allHeaders();
  const status = response?.status();
  const exchange: Exchange = { method: request.method(), path: url.pathname, status, nonceOffered: response?.headers()['dpop-nonce'] !== undefined };
  const body = request.postData();
  if (body && request.method() === 'POST') {
    exchange.form = Object.fromEntries(new URLSearchParams(body));
    if (exchange.form.grant_type) exchange.grantType = exchange.form.grant_type;
  }
  if (headers.authorization) exchange.authorization = headers.authorization.split(' ')[0];
  if (headers.dpop) {
    const header = decodeProtectedHeader(headers.dpop);
    const claims = decodeJwt(headers.dpop);
    exchange.proof = {
      typ: header.typ,
      alg: header.alg,
      jkt: await calculateJwkThumbprint(header.jwk as JWK),
      htm: claims.htm,
      htu: claims.htu,
      nonce: typeof claims.nonce === 'string',
      ath: typeof claims.ath === 'string',
    };
  }
  return exchange;
}

async function openSession(): Promise<Session> {
  const context = await browser!.newContext();
  const errors: Session['errors'] = [];
  const authorizationUrls: string[] = [];
  const requests: Request[] = [];
  const issuerOrigin = new URL(oidc!.issuer).origin;
  context.on('console', (message) => {
    if (message.type() === 'error') errors.push({ text: `console.error on ${message.page()?.url() ?? '?'}: ${message.text()}`, url: message.location().url });
  });
  context.on('weberror', (error) => errors.push({ text: `uncaught on ${error.page()?.url() ?? '?'}: ${error.error().message}`, url: '' }));
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin !== issuerOrigin) return;
    if (request.isNavigationRequest()) {
      if (url.pathname === '/auth') authorizationUrls.push(request.url());
      return;
    }
    requests.push(request);
  });
  // Each described as soon as it finished, while the page that sent it is still there.
  const described = new Map<Request, Promise<Exchange>>();
  const settle = (request: Request) => {
    if (requests.includes(request) && !described.has(request)) described.set(request, describeRequest(request));
  };
  context.on('requestfinished', settle);
  context.on('requestfailed', settle);
  const page = await context.newPage();
  return {
    context,
    page,
    errors,
    authorizationUrls,
    exchanges: () =>
      Promise.all(
        requests.map((request) => {
          settle(request);
          return described.get(request)!;
        }),
      ),
  };
}

const appState = (page: Page) => page.evaluate(() => JSON.parse(JSON.stringify(window.__dpop)) as DpopAppState);
async function ready(page: Page): Promise<DpopAppState> {
  await page.waitForFunction(() => window.__dpop?.ready === true, undefined, { timeout: 15_000 });
  const state = await appState(page);
  expect(state.failure).toBeUndefined();
  return state;
}
const tokensOf = (page: Page) => page.evaluate(() => window.__dpop.getTokens()) as Promise<TokenSet | undefined>;
const scanOf = (page: Page) => page.evaluate(() => window.__dpop.scanStorage()) as Promise<StorageScan>;

/** The stored DPoP key pair, as the raw scan found it: exactly one private and one public CryptoKey, under the client's key. */
async function storedKeyPair(scan: StorageScan) {
  expect(scan.cryptoKeys.map((key) => key.type).sort()).toEqual(['private', 'public']);
  for (const key of scan.cryptoKeys) expect(key.path).toBe(`grantflow/kv[${JSON.stringify(['grantflow:keyPair', DPOP_KEY])}].p.${key.type}Key`);
  const privateKey = scan.cryptoKeys.find((key) => key.type === 'private')!;
  const publicKey = scan.cryptoKeys.find((key) => key.type === 'public')!;
  return { privateKey, publicKey, jkt: await calculateJwkThumbprint(publicKey.publicJwk as JWK) };
}

/**
 * No private JWK anywhere: no `"d"` member in any stored string, however deeply its JSON is
 * escaped (an adapter may wrap the value in JSON of its own: `{"v":"{\"d\":…}"}`), and no
 * object with a `d` member in IndexedDB.
 */
function expectNoPrivateJwk(scan: StorageScan) {
  expect(scan.strings.filter((value) => /\\*"d\\*"\s*:/.test(value))).toEqual([]);
  expect(scan.dMembers).toEqual([]);
}

/** A refresh_token grant from Node with a proof of a key of its own, answering the nonce challenge once. */
async function refreshWithAnotherKey(tokenUrl: string, refreshToken: string): Promise<{ status: number; error: unknown }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const send = async (nonce?: string) => {
    const proof = await new SignJWT({ htm: 'POST', htu: tokenUrl, jti: crypto.randomUUID(), ...(nonce ? { nonce } : {}) })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
      .setIssuedAt()
      .sign(privateKey);
    return fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: CLIENT_ID, refresh_token: refreshToken }),
    });
  };
  let response = await send();
  const nonce = response.headers.get('dpop-nonce');
  if (response.status === 400 && nonce) response = await send(nonce);
  return { status: response.status, error: ((await response.json()) as { error?: unknown }).error };
}

describe.skipIf(!!chromiumSkipReason)(`grantflow/browser with DPoP and PAR in headless Chromium${chromiumSkipReason ? ` (skipped: ${chromiumSkipReason})` : ''}`, () => {
  beforeAll(async () => {
    const script = await bundlePage(join(import.meta.dirname, 'fixtures', 'dpop-app.ts'));
    pages = await startPageServer(
      (path) => {
        if (path === '/app' || path === '/callback') return { type: 'text/html; charset=utf-8', body: htmlPage('grantflow DPoP app', 'dpop-app.js', config ?? {}) };
        if (path === '/dpop-app.js') return { type: 'text/javascript; charset=utf-8', body: script };
        return undefined;
      },
      () => (oidc ? new URL(oidc.issuer).origin : ''),
    );
    oidc = await startOidcServer({
      clients: [
        {
          client_id: CLIENT_ID,
          token_endpoint_auth_method: 'none',
          redirect_uris: [`${pages.origin}/callback`],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        },
      ],
      defaultResource: false,
      dpopNonce: true,
      requirePushedAuthorization: true,
      accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S,
      corsOrigins: [pages.origin],
      Provider: await tappedProvider(),
    });
    config = { issuer: oidc.issuer, providerId: PROVIDER_ID, clientId: CLIENT_ID, redirectUri: `${pages.origin}/callback` };
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await oidc?.stop();
    await pages?.close();
  });

  it('PAR sign-in with DPoP-bound tokens, a non-extractable key in IndexedDB, UserInfo and fetch, and a refresh after a reload with the same key', { timeout: 30_000 }, async () => {
    const session = await openSession();
    const { page } = session;
    const issuer = oidc!.issuer;
    const userinfoUrl = `${issuer}/me`;
    const timings: string[] = [];
    let mark = Date.now();
    const lap = (what: string) => {
      timings.push(`${what} ${Date.now() - mark} ms`);
      mark = Date.now();
    };
    try {
      // ---- 1. Redirect sign-in through PAR --------------------------------------------------------
      await page.goto(`${pages!.origin}/app`);
      const start = await ready(page);
      // Discovered in the page (under its CSP): PAR, DPoP with ES256, UserInfo and the JWKS.
      expect(start.provider).toEqual({ id: PROVIDER_ID, pushedAuthorization: `${issuer}/request`, dpopAlgs: expect.arrayContaining(['ES256']), userinfoUrl, jwksUri: `${issuer}/jwks` });
      expect(start.provider!.dpopAlgs![0]).toBe('ES256');
      expect(start.callback).toBe('none');
      await Promise.all([page.waitForURL(`${pages!.origin}/callback**`, { timeout: 15_000 }), page.click('#login')]);
      const signedIn = await ready(page);
      lap('sign-in (discovery, PAR, the redirects, code exchange)');
      expect(signedIn.callback).toBe('signed_in');
      expect(page.url()).toBe(`${pages!.origin}/callback`); // code, state and iss removed

      // The browser went to the authorization endpoint with client_id and request_uri only.
      expect(session.authorizationUrls).toHaveLength(1);
      const authorization = new URL(session.authorizationUrls[0]!);
      expect([...authorization.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
      expect(authorization.searchParams.get('client_id')).toBe(CLIENT_ID);
      expect(authorization.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);

      const tokens = (await tokensOf(page))!;
      expect(tokens.tokenType).toBe('DPoP');
      expect(tokens.idTokenClaims?.sub).toBe('user-1');
      expect(tokens.refreshToken).toBeTypeOf('string');
      expect(tokens.accessToken).not.toMatch(/^eyJ/); // opaque: a token for UserInfo, not a JWT for an API
      expect(tokens.scopes).toEqual(expect.arrayContaining(['openid', 'email', 'offline_access']));

      // ---- 2. The key pair in IndexedDB: CryptoKeys, the private one non-extractable ------------
      const scan = await scanOf(page);
      expectNoPrivateJwk(scan);
      const pair = await storedKeyPair(scan);
      expect(pair.privateKey).toMatchObject({ isCryptoKey: true, extractable: false, usages: ['sign'], exports: { jwk: 'InvalidAccessError', pkcs8: 'InvalidAccessError' } });
      expect(JSON.parse(pair.privateKey.algorithm)).toEqual({ name: 'ECDSA', namedCurve: 'P-256' });
      expect(pair.publicKey).toMatchObject({ isCryptoKey: true, extractable: true, exports: { jwk: 'exported', spki: 'exported' } });
      expect(pair.publicKey.publicJwk).not.toHaveProperty('d');
      // The scan did see the stored data: the token set is among the strings, and nothing is in Web Storage.
      expect(scan.strings.some((value) => value.includes(tokens.accessToken))).toBe(true);
      expect(scan.databases).toEqual([{ name: 'grantflow', stores: [{ name: 'kv', entries: expect.any(Number) }] }]);
      expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0]);

      // Every request to the server so far carried a proof of this key. The server asked for a nonce
      // at the first request of each page (PAR; then the code exchange, on the callback page, a new
      // document); the page read it from the answer (CORS exposes DPoP-Nonce) and sent the proof again.
      const signInExchanges = await session.exchanges();
      expect(signInExchanges.map(({ method, path, status }) => `${method} ${path} ${status}`)).toEqual([
        'GET /.well-known/oauth-authorization-server 200',
        'POST /request 400',
        'POST /request 201',
        'GET /.well-known/oauth-authorization-server 200',
        'POST /token 400',
        'POST /token 200',
        'GET /jwks 200',
      ]);
      expect(refusals).toEqual(['POST /request use_dpop_nonce', 'POST /token use_dpop_nonce']);
      expect(signInExchanges.filter((e) => e.method === 'POST').map((e) => e.grantType ?? 'push')).toEqual(['push', 'push', 'authorization_code', 'authorization_code']);
      // The authorization request itself went in the push, from the page.
      expect(signInExchanges[2]!.form).toMatchObject({
        client_id: CLIENT_ID,
        response_type: 'code',
        redirect_uri: config!.redirectUri,
        scope: 'openid email offline_access',
        prompt: 'consent',
        code_challenge_method: 'S256',
        state: expect.any(String),
        nonce: expect.any(String),
        code_challenge: expect.any(String),
      });
      for (const exchange of signInExchanges.filter((e) => e.method === 'POST')) {
        expect(exchange.proof).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256', jkt: pair.jkt, htm: 'POST', htu: `${issuer}${exchange.path}`, ath: false });
        expect(exchange.proof!.nonce).toBe(exchange.status! < 400);
        if (exchange.status === 400) expect(exchange.nonceOffered).toBe(true);
      }

      // ---- 3. UserInfo, and fetch with the token ----------------------------------------------
      const userinfo = (await page.evaluate(() => window.__dpop.getUserInfo())) as Record<string, unknown>;
      expect(userinfo).toMatchObject({ sub: 'user-1', email: 'user-1@example.test' });
      const fetched = await page.evaluate((url) => window.__dpop.fetch(url), userinfoUrl);
      expect(fetched).toEqual({ status: 200, body: expect.objectContaining({ sub: 'user-1', email: 'user-1@example.test' }) });
      lap('getUserInfo and fetch');
      const resourceExchanges = (await session.exchanges()).slice(signInExchanges.length);
      // The nonce from the token endpoint's answer was in the first proof: no retry was needed.
      expect(resourceExchanges.map(({ method, path, status, authorization }) => `${method} ${path} ${status} ${authorization}`)).toEqual([`GET /me 200 DPoP`, `GET /me 200 DPoP`]);
      for (const exchange of resourceExchanges) expect(exchange.proof).toMatchObject({ jkt: pair.jkt, htm: 'GET', htu: userinfoUrl, nonce: true, ath: true });

      // A reloaded page knows no nonce: the resource server's challenge (401, WWW-Authenticate:
      // DPoP error="use_dpop_nonce", both headers exposed to CORS) is answered with a new proof.
      const beforeReload = await appState(page);
      await page.reload();
      const reloadedOnce = await ready(page);
      const beforeChallenge = (await session.exchanges()).length;
      expect(await page.evaluate((url) => window.__dpop.fetch(url), userinfoUrl)).toEqual({ status: 200, body: expect.objectContaining({ sub: 'user-1' }) });
      const challenged = (await session.exchanges()).slice(beforeChallenge);
      expect(challenged.map(({ method, path, status }) => `${method} ${path} ${status}`)).toEqual(['GET /me 401', 'GET /me 200']);
      expect(challenged.map((e) => ({ nonceOffered: e.nonceOffered, nonce: e.proof?.nonce, jkt: e.proof?.jkt, ath: e.proof?.ath }))).toEqual([
        { nonceOffered: true, nonce: false, jkt: pair.jkt, ath: true },
        { nonceOffered: false, nonce: true, jkt: pair.jkt, ath: true },
      ]);
      expect(refusals.slice(2)).toEqual(['GET /me use_dpop_nonce']);
      lap('reload, fetch with the resource server\'s nonce challenge');

      // ---- 4. Reload; near expiry, the refresh (bound to the key) succeeds with the same key ----
      const fresh = (await tokensOf(page))!;
      expect(fresh.accessToken).toBe(tokens.accessToken); // nothing refreshed it yet
      // Into the refresh window (a quarter of the lifetime before expiry), on the browser's clock.
      const refreshWindow = Math.min(60_000, (fresh.expiresAt! - fresh.issuedAt!) / 4);
      const wait = fresh.expiresAt! - refreshWindow + 250 - (await page.evaluate(() => Date.now()));
      expect(wait).toBeGreaterThan(0); // the access token was still fresh until now
      await page.waitForTimeout(wait);
      const reloadedTwice = await appState(page);
      await page.reload();
      expect((await ready(page)).callback).toBe('none');
      lap(`waiting ${wait} ms for the refresh window, reload`);
      const before = (await session.exchanges()).length;
      const afterRefresh = await page.evaluate((url) => window.__dpop.fetch(url), userinfoUrl);
      expect(afterRefresh).toEqual({ status: 200, body: expect.objectContaining({ sub: 'user-1' }) });
      lap('refresh and fetch');
      const refreshed = (await tokensOf(page))!;
      expect(refreshed.tokenType).toBe('DPoP');
      expect(refreshed.accessToken).not.toBe(tokens.accessToken);
      // Not rotated: oidc-provider rotates a public client's refresh token only when it is not
      // sender-constrained. This one is bound to the key (cnf.jkt); the reloaded page presented it.
      expect(refreshed.refreshToken).toBe(tokens.refreshToken);
      expect(refreshed.idTokenClaims?.sub).toBe('user-1');
      expect((await appState(page)).events.filter((e) => e.type === 'refreshed')).toEqual([{ type: 'refreshed', accessToken: refreshed.accessToken }]);

      const refreshExchanges = (await session.exchanges()).slice(before);
      expect(refreshExchanges.map(({ method, path, status, grantType }) => `${method} ${path} ${status}${grantType ? ` ${grantType}` : ''}`)).toEqual([
        // The reloaded page has no nonce yet: the server asks for one, the proof is made again.
        'POST /token 400 refresh_token',
        'POST /token 200 refresh_token',
        'GET /jwks 200',
        'GET /me 200',
      ]);
      expect(refusals.slice(3)).toEqual(['POST /token use_dpop_nonce']);
      for (const exchange of refreshExchanges.filter((e) => e.proof)) expect(exchange.proof!.jkt).toBe(pair.jkt);
      expect(refreshExchanges.map((e) => e.proof?.nonce)).toEqual([false, true, undefined, true]);
      // The same key pair, still the only one; still no private JWK anywhere.
      const rescan = await scanOf(page);
      expect((await storedKeyPair(rescan)).jkt).toBe(pair.jkt);
      expect((await storedKeyPair(rescan)).privateKey.extractable).toBe(false);
      expectNoPrivateJwk(rescan);
      expect(rescan.strings.some((value) => value.includes(refreshed.accessToken))).toBe(true);

      // ---- 5. Clean: no console error, no uncaught error, no CSP violation --------------------
      const all = await session.exchanges();
      // Every error answer of the server was a nonce challenge (RFC 9449 §8), and each was answered.
      const nonceRefusals = all.filter((e) => e.status === 400 || e.status === 401);
      expect(refusals).toEqual(['POST /request use_dpop_nonce', 'POST /token use_dpop_nonce', 'GET /me use_dpop_nonce', 'POST /token use_dpop_nonce']);
      expect(nonceRefusals.map((e) => `${e.method} ${e.path}`)).toEqual(refusals.map((r) => r.replace(/ use_dpop_nonce$/, '')));
      expect(all.filter((e) => e.status === undefined || (e.status >= 300 && e.status !== 400 && e.status !== 401))).toEqual([]);
      // Chromium logs every 4xx answer to a fetch as a console error ("Failed to load resource: the
      // server responded with a status of 400"): exactly one for each nonce challenge, which are the
      // protocol. No other console error (a CSP violation would be one too), no uncaught error.
      expect(session.errors.map((error) => ({ url: error.url, loadFailure: /Failed to load resource: the server responded with a status of 40[01] \((Bad Request|Unauthorized)\)$/.test(error.text) }))).toEqual(
        nonceRefusals.map((e) => ({ url: `${issuer}${e.path}`, loadFailure: true })),
      );
      for (const state of [start, signedIn, beforeReload, reloadedOnce, reloadedTwice, await appState(page)]) expect(state.violations).toEqual([]);
      expect(oidc!.events.filter((event) => event.detail !== 'use_dpop_nonce: nonce is required in the DPoP proof')).toEqual([]);
      console.log(`[grantflow] DPoP in Chromium: ${timings.join('; ')}; ${all.length} requests to the server, ${nonceRefusals.length} nonce challenges answered`);

      // The refresh token is bound to the page's key: presented with a proof of another key (from
      // here, with the server's nonce), the server refuses it.
      const stolen = await refreshWithAnotherKey(`${issuer}/token`, refreshed.refreshToken!);
      expect(stolen).toEqual({ status: 400, error: 'invalid_grant' });

      // The policy is live: a request it does not allow (this page's own origin) is blocked and reported.
      expect(await page.evaluate(() => fetch('/favicon.ico').then(() => 'sent', () => 'blocked'))).toBe('blocked');
      await page.waitForFunction(() => window.__dpop.violations.length > 0);
      expect((await appState(page)).violations).toEqual([`connect-src ${pages!.origin}/favicon.ico`]);
    } finally {
      await session.context.close();
    }
  });
});
