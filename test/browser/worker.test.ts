import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcServer, type OidcServer } from '../../src/cli/oidc-server.js';
import type { WorkerApp } from './fixtures/worker-app.js';
import { chromiumSkipReason, launchChromium } from './support/chromium.js';
import { bundlePage, htmlPage, startPageServer, type PageServer } from './support/page-server.js';
import type { RaceResult, TokenSummary, WorkerConfig } from './support/worker-shared.js';

/**
 * indexedDbStorage in real headless Chromium, in a dedicated Web Worker (no sessionStorage, no
 * localStorage there): the worker's grantflow client completes the authorization code flow
 * against oidc-provider (the test plays the user through oidc-provider's automatic login, as the
 * CLI demo does), keeps its tokens in IndexedDB, serves and refreshes them; the page, another
 * context of the origin, reads the same stored set; and setIfAbsent calls from both at once on
 * one key have one winner.
 */

// In CI a missing Chromium is a failure, not a skip.
if (chromiumSkipReason && process.env.CI) throw new Error(`Browser suite cannot run in CI: ${chromiumSkipReason}`);
if (chromiumSkipReason) console.warn(`[grantflow] Browser worker suite skipped: ${chromiumSkipReason}`);

const FIXTURES = join(import.meta.dirname, 'fixtures');
const CLIENT_ID = 'worker-app';

let browser: Browser | undefined;
let pages: PageServer | undefined;
let oidc: OidcServer | undefined;
let config: WorkerConfig | undefined;

interface Session {
  context: BrowserContext;
  app: Page;
  errors: string[];
  worker<T>(method: string, ...args: unknown[]): Promise<T>;
  /** Calls a method of the page's `window.workerApp`. */
  page<M extends Exclude<keyof WorkerApp, 'worker'>>(method: M, ...args: Parameters<WorkerApp[M]>): ReturnType<WorkerApp[M]>;
}

async function openSession(): Promise<Session> {
  const context = await browser!.newContext();
  const errors: string[] = [];
  context.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error on ${message.page()?.url() ?? 'a worker'}: ${message.text()}`);
  });
  context.on('weberror', (error) => errors.push(`uncaught on ${error.page()?.url() ?? '?'}: ${error.error().message}`));
  const app = await context.newPage();
  app.on('worker', (worker) => worker.on('console', (message) => message.type() === 'error' && errors.push(`console.error in the worker: ${message.text()}`)));
  await app.goto(`${pages!.origin}/app`);
  await app.waitForFunction(() => window.workerApp !== undefined);
  // By name: the page's CSP has no 'unsafe-eval', so no function source is sent.
  const page = ((method: string, ...args: unknown[]) =>
    app.evaluate(([m, a]) => (window.workerApp as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[m]!(...a), [method, args] as const)) as Session['page'];
  return {
    context,
    app,
    errors,
    page,
    worker: <T,>(method: string, ...args: unknown[]) => app.evaluate(([m, a]) => window.workerApp!.worker(m, ...a), [method, args] as const) as Promise<T>,
  };
}

describe.skipIf(!!chromiumSkipReason)(`indexedDbStorage in a Web Worker, headless Chromium${chromiumSkipReason ? ` (skipped: ${chromiumSkipReason})` : ''}`, () => {
  beforeAll(async () => {
    const [appScript, workerScript] = await Promise.all([bundlePage(join(FIXTURES, 'worker-app.ts')), bundlePage(join(FIXTURES, 'worker.ts'))]);
    const scripts = new Map([
      ['/worker-app.js', appScript],
      ['/worker.js', workerScript],
    ]);
    pages = await startPageServer(
      (path) => {
        if (path === '/app') return { type: 'text/html; charset=utf-8', body: htmlPage('grantflow worker app', 'worker-app.js', config ?? {}) };
        const script = scripts.get(path);
        return script === undefined ? undefined : { type: 'text/javascript; charset=utf-8', body: script };
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
    config = {
      issuer: oidc.issuer,
      authorizationEndpoint: oidc.authorizationEndpoint,
      tokenEndpoint: oidc.tokenEndpoint,
      clientId: CLIENT_ID,
      redirectUri: `${pages.origin}/callback`,
    };
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await oidc?.stop();
    await pages?.close();
  });

  it('the code flow, getAccessToken and refresh in a worker, over IndexedDB; the page reads the same stored set', { timeout: 45_000 }, async () => {
    const session = await openSession();
    try {
      const facts = await session.worker<{ worker: boolean; sessionStorage: string; indexedDB: string }>('init', config);
      // A real worker: no document, no sessionStorage (webStorage(sessionStorage) cannot even be built here).
      expect(facts).toEqual({ worker: true, sessionStorage: 'undefined', indexedDB: 'object' });

      const { url, state } = await session.worker<{ url: string; state: string }>('start');
      expect(new URL(url).origin).toBe(new URL(oidc!.issuer).origin);
      // The user signs in and consents (oidc-provider's automatic interaction), and comes back with a code.
      const callbackUrl = await oidc!.approve(url);
      expect(new URL(callbackUrl).searchParams.get('state')).toBe(state);

      const login = await session.worker<TokenSummary>('complete', callbackUrl);
      expect(login.accessToken).toBeTypeOf('string');
      expect(login.refreshToken).toBeTypeOf('string');

      // Stored in IndexedDB: the page, another context, reads the same set through its own indexedDbStorage.
      const stored = JSON.parse((await session.page('storedTokens'))!) as TokenSummary;
      expect(stored).toMatchObject(login);

      // getAccessToken serves the stored token as it is; refresh rotates both tokens and stores them.
      expect(await session.worker<TokenSummary>('getAccessToken')).toEqual(login);
      const refreshed = await session.worker<TokenSummary>('refresh');
      expect(refreshed.accessToken).not.toBe(login.accessToken);
      expect(refreshed.refreshToken).toBeTypeOf('string');
      expect(refreshed.refreshToken).not.toBe(login.refreshToken);
      expect(await session.worker<TokenSummary>('getAccessToken')).toEqual(refreshed);

      // Two hours later (the client's clock), getAccessToken refreshes by itself (taking the refresh lock in IndexedDB).
      await session.worker('advanceClock', 2 * 3600_000);
      const renewed = await session.worker<TokenSummary>('getAccessToken');
      expect(renewed.accessToken).not.toBe(refreshed.accessToken);
      expect(renewed.refreshToken).not.toBe(refreshed.refreshToken);
      expect(await session.worker<string[]>('tokenRequests')).toEqual(['authorization_code', 'refresh_token', 'refresh_token']);

      // The page sees the newest set: raw, and through a grantflow client of its own (fresh: no request).
      expect(JSON.parse((await session.page('storedTokens'))!)).toMatchObject(renewed);
      expect(await session.page('pageAccessToken')).toEqual({ tokens: renewed, tokenRequests: 0 });

      expect(session.errors).toEqual([]);
      expect(oidc!.events).toEqual([]);
    } finally {
      await session.context.close();
    }
  });

  it('50 concurrent setIfAbsent on one key, from the page and the worker together: exactly one wins', { timeout: 30_000 }, async () => {
    const session = await openSession();
    try {
      await session.worker('init', config);
      const overlaps: boolean[] = [];
      const winners: string[] = [];
      for (let round = 0; round < 5; round++) {
        const key = `grantflow:oidc:${CLIENT_ID}:tokens:default:lock:race-${round}`;
        const { page, worker } = await session.page('race', key, 25);
        const wins = [...page.wins, ...worker.wins];
        expect(wins).toHaveLength(50);
        expect(wins.filter(Boolean), `round ${round}`).toHaveLength(1);
        // The winner's value is what both contexts read.
        const winner = page.wins.includes(true) ? `page-${page.wins.indexOf(true)}` : `worker-${worker.wins.indexOf(true)}`;
        expect(await session.page('storageGet', key)).toBe(winner);
        expect(await session.worker('storageGet', key)).toBe(winner);
        winners.push(winner.split('-')[0]!);
        overlaps.push(runsOverlap(page, worker));
      }
      console.log(`IndexedDB race in Chromium: 5 rounds of 25 page + 25 worker setIfAbsent calls, one winner each (${winners.join(', ')}); the two contexts' calls overlapped in time in ${overlaps.filter(Boolean).length} of 5 rounds`);
      expect(overlaps.some(Boolean)).toBe(true);
      expect(session.errors).toEqual([]);
    } finally {
      await session.context.close();
    }
  });
});

/** Whether the calls of the two contexts ran at the same time (so the race was a real one). */
const runsOverlap = (a: RaceResult, b: RaceResult) => a.started <= b.settled && b.started <= a.settled;
