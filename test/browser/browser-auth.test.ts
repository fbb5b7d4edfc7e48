import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcServer, type OidcServer } from '../../src/cli/oidc-server.js';
import type { AppState, BrowserAuthPageConfig } from './fixtures/browser-auth-app.js';
import { chromiumSkipReason, launchChromium } from './support/chromium.js';
import { bundlePage, htmlPage } from './support/page-server.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * grantflow/browser (createBrowserAuth) in headless Chromium against oidc-provider on 127.0.0.1,
 * on a page with a strict Content-Security-Policy (`default-src 'self'`; the network only to the
 * authorization server): redirect sign-in with sessionStorage and with localStorage, a reload,
 * Back onto a used callback URL, the popup, and sign-out in one tab heard in another.
 */

if (chromiumSkipReason && process.env.CI) throw new Error(`Browser suite cannot run in CI: ${chromiumSkipReason}`);
if (chromiumSkipReason) console.warn(`[grantflow] Browser suite skipped: ${chromiumSkipReason}`);

const CLIENT_ID = 'spa';

let browser: Browser | undefined;
let oidc: OidcServer | undefined;
let server: Server | undefined;
let origin = '';
let script = '';

async function startServer(): Promise<void> {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, {
        'content-type': type,
        'cache-control': 'no-store',
        'content-security-policy': `default-src 'self'; connect-src ${oidc ? new URL(oidc.issuer).origin : "'none'"}`,
      });
      res.end(body);
    };
    if (/^\/(session|local)\/(app|callback)$/.test(path)) {
      const config: BrowserAuthPageConfig = {
        issuer: oidc!.issuer,
        authorizationEndpoint: oidc!.authorizationEndpoint,
        tokenEndpoint: oidc!.tokenEndpoint,
        revocationEndpoint: `${oidc!.issuer}/token/revocation`,
        clientId: CLIENT_ID,
      };
      return send(200, 'text/html; charset=utf-8', htmlPage('grantflow/browser app', 'app.js', config));
    }
    if (path === '/app.js') return send(200, 'text/javascript; charset=utf-8', script);
    if (path === '/favicon.ico') return send(204, 'image/x-icon', '');
    return send(404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Session {
  context: BrowserContext;
  /** Console errors and uncaught exceptions of every page of the context. */
  errors: string[];
}

async function openSession(): Promise<Session> {
  const context = await browser!.newContext();
  const errors: string[] = [];
  context.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error on ${message.page()?.url() ?? '?'}: ${message.text()}`);
  });
  context.on('weberror', (error) => errors.push(`uncaught on ${error.page()?.url() ?? '?'}: ${error.error().message}`));
  return { context, errors };
}

const appState = (page: Page) => page.evaluate(() => JSON.parse(JSON.stringify(window.__app)) as AppState);
const ready = async (page: Page) => {
  await page.waitForFunction(() => window.__app?.ready === true, undefined, { timeout: 15_000 });
  return appState(page);
};
const isAuthenticated = (page: Page) => page.evaluate(() => window.__app.isAuthenticated());

/** Clicks "login" on the app page and waits for the callback page to have handled the redirect. */
async function redirectSignIn(page: Page, mode: 'session' | 'local'): Promise<AppState> {
  await page.goto(`${origin}/${mode}/app`);
  await ready(page);
  await Promise.all([page.waitForURL(`${origin}/${mode}/callback**`, { timeout: 15_000 }), page.click('#login')]);
  return ready(page);
}

function expectClean(session: Session, states: AppState[]) {
  expect(session.errors).toEqual([]);
  for (const state of states) expect(state.violations).toEqual([]);
}

describe.skipIf(!!chromiumSkipReason)(`grantflow/browser in headless Chromium${chromiumSkipReason ? ` (skipped: ${chromiumSkipReason})` : ''}`, () => {
  beforeAll(async () => {
    script = await bundlePage(join(import.meta.dirname, 'fixtures', 'browser-auth-app.ts'));
    await startServer();
    oidc = await startOidcServer({
      clients: [
        {
          client_id: CLIENT_ID,
          token_endpoint_auth_method: 'none',
          redirect_uris: [`${origin}/session/callback`, `${origin}/local/callback`],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        },
      ],
      corsOrigins: [origin],
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await oidc?.stop();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    }
  });

  it('sessionStorage: redirect sign-in, the address bar cleaned, a reload keeps the session, Back onto the used callback answers already_handled', { timeout: 60_000 }, async () => {
    const session = await openSession();
    try {
      const page = await session.context.newPage();
      const signedIn = await redirectSignIn(page, 'session');
      expect(signedIn.callback).toBe('signed_in');
      expect(signedIn.arrivedAt).toMatch(/[?&]code=/);
      expect(page.url()).toBe(`${origin}/session/callback`);
      expect(await isAuthenticated(page)).toBe(true);
      expect(await page.evaluate(() => window.__app.getAccessToken())).toMatch(/^eyJ/);
      // The tokens are in sessionStorage, not in localStorage.
      const stored = await page.evaluate(() => ({ session: Object.keys(sessionStorage), local: Object.keys(localStorage) }));
      expect(stored.session.some((key) => key.includes(':tokens:'))).toBe(true);
      expect(stored.local).toEqual([]);

      await page.reload();
      const reloaded = await ready(page);
      expect(reloaded.callback).toBe('none');
      expect(await isAuthenticated(page)).toBe(true);

      // Back lands on the app page (the callback entry was cleaned); a history entry that still
      // holds the used callback URL (here: visited again) is answered already_handled.
      await page.goto(`${origin}/session/app`);
      await page.goBack();
      expect((await ready(page)).callback).toBe('none');
      await page.goto(signedIn.arrivedAt!);
      const again = await ready(page);
      expect(again.callback).toBe('already_handled');
      expect(page.url()).toBe(`${origin}/session/callback`);

      // Signed out, the same URL is the flow's error.
      await page.evaluate(() => window.__app.logout());
      await page.goto(signedIn.arrivedAt!);
      const signedOut = await ready(page);
      expect(signedOut.callback).toBe('error:flow_not_found');
      expect(await isAuthenticated(page)).toBe(false);
      expectClean(session, [signedIn, reloaded, again, signedOut]);
    } finally {
      await session.context.close();
    }
  });

  it('localStorage: signed in in one tab, the other is too; logout in one makes subscribe fire signed_out in the other', { timeout: 60_000 }, async () => {
    const session = await openSession();
    try {
      const other = await session.context.newPage();
      await other.goto(`${origin}/local/app`);
      await ready(other);
      const page = await session.context.newPage();
      const signedIn = await redirectSignIn(page, 'local');
      expect(signedIn.callback).toBe('signed_in');
      await other.waitForFunction(() => window.__app.events.some((e) => e.type === 'signed_in'), undefined, { timeout: 10_000 });
      expect(await isAuthenticated(other)).toBe(true);

      await page.reload();
      expect((await ready(page)).callback).toBe('none');
      expect(await isAuthenticated(page)).toBe(true);

      const result = await page.evaluate(() => window.__app.logout());
      expect(result).toMatchObject({ revoked: true, deleted: true });
      await other.waitForFunction(() => window.__app.events.some((e) => e.type === 'signed_out'), undefined, { timeout: 10_000 });
      const heard = await appState(other);
      expect(heard.events).toEqual([
        { type: 'signed_in', hasTokens: true },
        { type: 'signed_out', hasTokens: false },
      ]);
      expect(await isAuthenticated(other)).toBe(false);
      expectClean(session, [signedIn, heard, await appState(page)]);
    } finally {
      await session.context.close();
    }
  });

  it('popup: signs in from a click without leaving the page; the popup closes', { timeout: 60_000 }, async () => {
    const session = await openSession();
    try {
      const page = await session.context.newPage();
      await page.goto(`${origin}/session/app`);
      await ready(page);
      const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#popup')]);
      await page.waitForFunction(() => window.__app.popup !== undefined, undefined, { timeout: 15_000 });
      const state = await appState(page);
      expect(state.popup).toBe('signed_in');
      expect(popup.isClosed()).toBe(true);
      expect(page.url()).toBe(`${origin}/session/app`);
      expect(await isAuthenticated(page)).toBe(true);
      expect(state.events).toEqual([{ type: 'signed_in', hasTokens: true }]);
      expectClean(session, [state]);
    } finally {
      await session.context.close();
    }
  });

  it('popup closed by the user: cancelled', { timeout: 60_000 }, async () => {
    const session = await openSession();
    try {
      const page = await session.context.newPage();
      await page.goto(`${origin}/session/app`);
      await ready(page);
      // The authorization server never answers the popup: the user closes it.
      await session.context.route(`${oidc!.authorizationEndpoint}**`, () => {});
      const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#popup')]);
      await popup.close();
      await page.waitForFunction(() => window.__app.popup !== undefined, undefined, { timeout: 15_000 });
      expect((await appState(page)).popup).toBe('error:cancelled');
      expect(await isAuthenticated(page)).toBe(false);
      // The policy is live: a request it does not allow (this origin: not in connect-src) is a violation.
      expect(await page.evaluate(() => fetch('/favicon.ico').then(() => 'sent', () => 'blocked'))).toBe('blocked');
      await page.waitForFunction(() => window.__app.violations.length > 0);
      expect((await appState(page)).violations).toEqual([`connect-src ${origin}/favicon.ico`]);
    } finally {
      await session.context.close();
    }
  });
});
