import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcServer, type OidcServer } from '../../src/cli/oidc-server.js';
import type { TabsPageConfig, TokenOutcome } from './fixtures/tabs-app.js';
import { chromiumSkipReason, launchChromium } from './support/chromium.js';
import { bundlePage, htmlPage, startPageServer, type PageServer } from './support/page-server.js';

/**
 * Cross-tab single-flight refresh in real headless Chromium: tabs are pages of one browser
 * context (one localStorage, one Web Locks manager), each with its own createOAuthClient over
 * webStorage(localStorage), against oidc-provider, whose refresh tokens rotate for this public
 * client (a rotated token used again is taken for theft: the grant is revoked). The tabs call
 * getAccessToken at the same instant with the stored set near expiry; refresh requests are
 * counted on the wire (every POST to the token endpoint with grant_type=refresh_token).
 */

if (chromiumSkipReason && process.env.CI) throw new Error(`Browser suite cannot run in CI: ${chromiumSkipReason}`);
if (chromiumSkipReason) console.warn(`[grantflow] Browser suite skipped: ${chromiumSkipReason}`);

const CLIENT_ID = 'browser-tabs';
const ROUNDS = 20;

let browser: Browser | undefined;
let pages: PageServer | undefined;
let oidc: OidcServer | undefined;

interface Tabs {
  context: BrowserContext;
  tabs: Page[];
  /** Refresh requests seen on the wire, with the response status once it came. */
  refreshes: Array<{ url: string; status?: number }>;
  errors: string[];
  open(): Promise<Page>;
}

async function openTabs(count: number, query = ''): Promise<Tabs> {
  const context = await browser!.newContext();
  const refreshes: Tabs['refreshes'] = [];
  const errors: string[] = [];
  context.on('request', (request) => {
    if (request.method() === 'POST' && request.url() === oidc!.tokenEndpoint && /(^|&)grant_type=refresh_token(&|$)/.test(request.postData() ?? '')) {
      const seen = { url: request.frame().url() };
      refreshes.push(seen);
      void request.response().then((response) => Object.assign(seen, { status: response?.status() }));
    }
  });
  context.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error on ${message.page()?.url() ?? '?'}: ${message.text()}`);
  });
  context.on('weberror', (error) => errors.push(`uncaught on ${error.page()?.url() ?? '?'}: ${error.error().message}`));
  const open = async () => {
    const page = await context.newPage();
    await page.goto(`${pages!.origin}/tabs${query}`);
    await page.waitForFunction(() => window.tabs !== undefined);
    return page;
  };
  const tabs: Page[] = [];
  for (let i = 0; i < count; i++) tabs.push(await open());
  return { context, tabs, refreshes, errors, open };
}

async function signIn(tab: Page): Promise<string> {
  const url = await tab.evaluate(() => window.tabs!.startAuthorization());
  const callback = await oidc!.approve(url);
  return tab.evaluate((callbackUrl) => window.tabs!.completeAuthorization(callbackUrl), callback);
}

const stored = (tab: Page) => tab.evaluate(() => window.tabs!.stored());
const expireSoon = (tab: Page) => tab.evaluate(() => window.tabs!.expireSoon(20_000));
/** Every tab calls getAccessToken at the same instant, `inMs` from now. */
const allAt = (tabs: Page[], inMs = 500) => {
  const at = Date.now() + inMs;
  return Promise.all(tabs.map((tab) => tab.evaluate((start) => window.tabs!.getAccessTokenAt(start), at)));
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets the wire events of the last requests reach the test. */
const settled = () => sleep(100);

async function rounds(count: number) {
  const session = await openTabs(count);
  try {
    const [first] = session.tabs as [Page];
    expect(await first.evaluate(() => window.tabs!.webLocks)).toBe(true);
    await signIn(first);
    let previous = (await stored(first))!;
    const perRound: number[] = [];
    let maxSkew = 0;
    const eventsBefore = oidc!.events.length;
    for (let round = 0; round < ROUNDS; round++) {
      await expireSoon(first);
      const before = session.refreshes.length;
      const outcomes: TokenOutcome[] = await allAt(session.tabs);
      await settled();
      perRound.push(session.refreshes.length - before);
      maxSkew = Math.max(maxSkew, Math.max(...outcomes.map((o) => o.startedAt)) - Math.min(...outcomes.map((o) => o.startedAt)));
      const errors = outcomes.flatMap((o, tab) => (o.ok ? [] : [`round ${round}, tab ${tab}: ${o.error}`]));
      expect(errors).toEqual([]);
      const now = (await stored(first))!;
      const tokens = new Set(outcomes.map((o) => (o.ok ? o.accessToken : '')));
      expect(tokens, `round ${round}: every tab ends with the same access token`).toEqual(new Set([now.accessToken]));
      expect(now.accessToken, `round ${round}: refreshed`).not.toBe(previous.accessToken);
      expect(now.refreshToken, `round ${round}: the refresh token rotated`).not.toBe(previous.refreshToken);
      previous = now;
    }
    console.log(`${count} tabs × ${ROUNDS} rounds: refresh requests per round ${perRound.join(',')}; tabs started within ${maxSkew} ms of each other`);
    expect(perRound).toEqual(Array.from({ length: ROUNDS }, () => 1));
    expect(session.refreshes.every((r) => r.status === 200)).toBe(true);
    expect(oidc!.events.slice(eventsBefore)).toEqual([]);
    expect(session.errors).toEqual([]);
  } finally {
    await session.context.close();
  }
}

describe.skipIf(!!chromiumSkipReason)(`cross-tab refresh in headless Chromium${chromiumSkipReason ? ` (skipped: ${chromiumSkipReason})` : ''}`, () => {
  beforeAll(async () => {
    const script = await bundlePage(join(import.meta.dirname, 'fixtures', 'tabs-app.ts'));
    pages = await startPageServer(
      (path) => {
        if (path === '/tabs-app.js') return { type: 'text/javascript; charset=utf-8', body: script };
        if (path !== '/tabs' || !oidc) return undefined;
        const config: TabsPageConfig = { oidc: { issuer: oidc.issuer, authorizationEndpoint: oidc.authorizationEndpoint, tokenEndpoint: oidc.tokenEndpoint, clientId: CLIENT_ID } };
        return { type: 'text/html; charset=utf-8', body: htmlPage('grantflow tab', 'tabs-app.js', config) };
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
      corsOrigins: [pages.origin],
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await oidc?.stop();
    await pages?.close();
  });

  it(`2 tabs at the same instant, ${ROUNDS} rounds: one refresh request per round, no error, one access token`, { timeout: 90_000 }, () => rounds(2));

  it(`5 tabs at the same instant, ${ROUNDS} rounds: one refresh request per round, no error, one access token`, { timeout: 120_000 }, () => rounds(5));

  it('a tab that took the lock and hangs (never renews, never releases) holds the others up for its lease only: one takes over', { timeout: 45_000 }, async () => {
    const session = await openTabs(3);
    try {
      const [hung, ...others] = session.tabs as [Page, Page, Page];
      await signIn(others[0]!);
      const before = (await stored(hung))!;
      await expireSoon(hung);
      const leaseMs = 3_000;
      expect(await hung.evaluate((ttl) => window.tabs!.holdLockAndHang(ttl), leaseMs)).toBe(true);
      const outcomes = await allAt(others, 50);
      await settled();
      console.log(`hung holder, lease ${leaseMs} ms: the others waited ${outcomes.map((o) => Math.round(o.tookMs)).join(' and ')} ms`);
      expect(outcomes.map((o) => (o.ok ? 'ok' : o.error))).toEqual(['ok', 'ok']);
      for (const o of outcomes) {
        expect(o.tookMs).toBeGreaterThan(leaseMs - 500);
        expect(o.tookMs).toBeLessThan(leaseMs + 2_500);
      }
      const after = (await stored(hung))!;
      expect(after.accessToken).not.toBe(before.accessToken);
      expect(new Set(outcomes.map((o) => (o.ok ? o.accessToken : '')))).toEqual(new Set([after.accessToken]));
      expect(session.refreshes).toHaveLength(1);
      // The hung tab has lost the lock: it was stolen, and the new holder released it.
      expect(await hung.evaluate(() => window.tabs!.lockEntry())).toBeNull();
      expect(session.errors).toEqual([]);
    } finally {
      await session.context.close();
    }
  });

  it('a holder that renews its lease is waited for; hung (its script paused: CDP Debugger.pause), it is taken over after its lease', { timeout: 45_000 }, async () => {
    const session = await openTabs(3);
    try {
      const [holder, ...others] = session.tabs as [Page, Page, Page];
      await signIn(others[0]!);
      await expireSoon(holder);
      const leaseMs = 1_500;
      expect(await holder.evaluate((ttl) => window.tabs!.holdLockAndRenew(ttl), leaseMs)).toBe(true);
      const waiting = allAt(others, 50);
      // Twice its lease: a live holder is never overlapped.
      await sleep(2 * leaseMs + 50);
      expect(session.refreshes).toHaveLength(0);
      // A hung tab: its script stops where it is (the next renewal's timer), its Web Lock stays held.
      const cdp = await session.context.newCDPSession(holder);
      await cdp.send('Debugger.enable');
      await cdp.send('Debugger.pause');
      const pausedAfter = 2 * leaseMs + 50;
      const outcomes = await waiting;
      await settled();
      console.log(`renewing holder paused after ${pausedAfter} ms (lease ${leaseMs} ms): the others waited ${outcomes.map((o) => Math.round(o.tookMs)).join(' and ')} ms`);
      expect(outcomes.map((o) => (o.ok ? 'ok' : o.error))).toEqual(['ok', 'ok']);
      for (const o of outcomes) {
        expect(o.tookMs).toBeGreaterThan(pausedAfter);
        expect(o.tookMs).toBeLessThan(pausedAfter + leaseMs + 2_500);
      }
      expect(new Set(outcomes.map((o) => (o.ok ? o.accessToken : ''))).size).toBe(1);
      expect(session.refreshes).toHaveLength(1);
      expect(session.errors).toEqual([]);
    } finally {
      await session.context.close();
    }
  });

  it('closing a tab that holds the lock frees it at once: the waiting tabs go on without waiting for its lease', { timeout: 45_000 }, async () => {
    const session = await openTabs(3);
    try {
      const [holder, ...others] = session.tabs as [Page, Page, Page];
      await signIn(others[0]!);
      await expireSoon(others[0]!);
      const leaseMs = 60_000;
      expect(await holder.evaluate((ttl) => window.tabs!.holdLockAndHang(ttl), leaseMs)).toBe(true);
      const waiting = allAt(others, 50);
      const closeAfter = 1_000;
      await sleep(closeAfter + 50);
      expect(session.refreshes).toHaveLength(0);
      await holder.close();
      const outcomes = await waiting;
      await settled();
      console.log(`holder closed after ${closeAfter} ms (lease ${leaseMs} ms): the others waited ${outcomes.map((o) => Math.round(o.tookMs)).join(' and ')} ms`);
      expect(outcomes.map((o) => (o.ok ? 'ok' : o.error))).toEqual(['ok', 'ok']);
      for (const o of outcomes) {
        // Far sooner than the 60 s lease: the closed tab's entry is waited on for webStorage's 1 s settle time only.
        expect(o.tookMs).toBeGreaterThan(closeAfter);
        expect(o.tookMs).toBeLessThan(closeAfter + 4_000);
      }
      expect(new Set(outcomes.map((o) => (o.ok ? o.accessToken : ''))).size).toBe(1);
      expect(session.refreshes).toHaveLength(1);
      expect(session.errors).toEqual([]);
    } finally {
      await session.context.close();
    }
  });

  it('without Web Locks (locks: false, the fallback): what the same race does, for the record', { timeout: 60_000 }, async () => {
    const session = await openTabs(2, '?locks=off');
    try {
      const [first] = session.tabs as [Page, Page];
      expect(await first.evaluate(() => window.tabs!.webLocks)).toBe(false);
      await signIn(first);
      const eventsBefore = oidc!.events.length;
      const perRound: number[] = [];
      let failures = 0;
      for (let round = 0; round < 10 && failures === 0; round++) {
        await expireSoon(first);
        const before = session.refreshes.length;
        const outcomes = await allAt(session.tabs);
        await settled();
        perRound.push(session.refreshes.length - before);
        failures = outcomes.filter((o) => !o.ok).length;
      }
      console.log(
        `fallback (no Web Locks), 2 tabs: refresh requests per round ${perRound.join(',')}; tabs failed in the last round: ${failures}; oidc-provider events: ${oidc!.events
          .slice(eventsBefore)
          .map((e) => `${e.name} ${e.detail}`)
          .join(' | ') || 'none'}`,
      );
      // A round with two refreshes has used a rotated refresh token twice: oidc-provider revoked the grant.
      if (perRound.some((n) => n > 1)) expect(failures + oidc!.events.length - eventsBefore).toBeGreaterThan(0);
    } finally {
      await session.context.close();
    }
  });
});
