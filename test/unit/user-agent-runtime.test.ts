import { afterEach, describe, expect, it, vi } from 'vitest';
import { createOAuthClient } from '../../src/client.js';
import { prepareGrant } from '../../src/grants/prepare.js';
import { buildTokenRequest } from '../../src/provider/token-request.js';
import { checkUserAgent, runtimeSendsUserAgent } from '../../src/provider/user-agent.js';
import { pathOfExile } from '../../src/providers/index.js';
import { resolveServices } from '../../src/services/defaults.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import { fakePathOfExile } from '../../src/testing/index.js';

/**
 * Path of Exile requires a User-Agent on token requests, but its SDK says of browsers: "Browsers
 * forbid setting this header and it will be ignored there". services.userAgentHeader says whether
 * the runtime can send it; both sides are run here in Node by setting the flag.
 */

const REDIRECT_URI = 'http://127.0.0.1:8080/callback';
const USER_AGENT = 'OAuth poe-tool/1.0.0 (contact: me@example.com)';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('services.userAgentHeader: the runtime', () => {
  it('is true in Node, false in a page (document) or a browser worker, and can be overridden', () => {
    expect(runtimeSendsUserAgent()).toBe(true);
    expect(resolveServices().userAgentHeader).toBe(true);
    expect(resolveServices({ userAgentHeader: false }).userAgentHeader).toBe(false);
    vi.stubGlobal('document', {});
    expect(resolveServices().userAgentHeader).toBe(false);
    expect(resolveServices({ userAgentHeader: true }).userAgentHeader).toBe(true);
    vi.unstubAllGlobals();
    // A browser's worker: WorkerGlobalScope, a WorkerLocation, a browser's user agent string.
    vi.stubGlobal('WorkerGlobalScope', function WorkerGlobalScope() {});
    vi.stubGlobal('location', { href: 'https://app.example/worker.js' });
    vi.stubGlobal('navigator', { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36' });
    expect(resolveServices().userAgentHeader).toBe(false);
  });

  it('is true on server runtimes that define WorkerGlobalScope: Cloudflare workerd (no location), a Deno worker', () => {
    // workerd, as probed: WorkerGlobalScope and ServiceWorkerGlobalScope, no location, navigator.userAgent "Cloudflare-Workers".
    vi.stubGlobal('WorkerGlobalScope', function WorkerGlobalScope() {});
    vi.stubGlobal('navigator', { userAgent: 'Cloudflare-Workers' });
    expect(runtimeSendsUserAgent()).toBe(true);
    // Even with a browser-like user agent string, a scope without a location is no browser worker.
    vi.stubGlobal('navigator', { userAgent: 'Mozilla/5.0' });
    expect(runtimeSendsUserAgent()).toBe(true);
    // A Deno worker has a location, and Deno's user agent string.
    vi.stubGlobal('location', { href: 'file:///worker.ts' });
    vi.stubGlobal('navigator', { userAgent: 'Deno/2.9.6' });
    expect(runtimeSendsUserAgent()).toBe(true);
    vi.stubGlobal('navigator', {});
    expect(runtimeSendsUserAgent()).toBe(true);
  });

  it('a flag that is not a boolean is refused naming it', () => {
    expect(() => resolveServices({ userAgentHeader: 'no' as never })).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'services.userAgentHeader' }));
  });
});

describe('the check and the header, with and without the header', () => {
  const client = (userAgent?: string) => ({ clientId: 'poe-tool', redirectUri: REDIRECT_URI, ...(userAgent === undefined ? {} : { userAgent }) });

  it('where the header can be sent, a missing User-Agent is refused (as before)', () => {
    expect(() => checkUserAgent(pathOfExile, client(), { userAgentHeader: true })).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'client.userAgent' }));
    expect(() => prepareGrant(pathOfExile, client(), {}, 'authorization_code', { userAgentHeader: true })).toThrow(expect.objectContaining({ field: 'client.userAgent' }));
  });

  it('where it cannot, a missing one is not asked for, and a wrong one is still refused', () => {
    expect(() => checkUserAgent(pathOfExile, client(), { userAgentHeader: false })).not.toThrow();
    expect(() => prepareGrant(pathOfExile, client(), {}, 'authorization_code', { userAgentHeader: false })).not.toThrow();
    expect(() => checkUserAgent(pathOfExile, client('OAuth other/1.0 (contact: me@example.com)'), { userAgentHeader: false })).toThrow(
      expect.objectContaining({ field: 'client.userAgent' }),
    );
  });

  it('buildTokenRequest builds the header only where it can be sent', () => {
    const build = (userAgentHeader: boolean) =>
      buildTokenRequest({ provider: pathOfExile, client: client(USER_AGENT), secrets: {}, auth: 'none', grantType: 'refresh_token', params: { refresh_token: 'rt' }, userAgentHeader });
    expect(build(true).headers['user-agent']).toBe(USER_AGENT);
    expect(build(false).headers).not.toHaveProperty('user-agent');
  });
});

describe('end to end against the fake Path of Exile', () => {
  function run(options: { userAgentHeader: boolean; userAgent?: string; origin?: string }) {
    const fake = fakePathOfExile({ clients: [{ clientId: 'poe-tool', redirectUris: [REDIRECT_URI] }] });
    const http = (input: string | URL | Request, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      if (options.origin) headers.set('origin', options.origin);
      return fake.fetch(input, { ...init, headers });
    };
    const client = createOAuthClient({
      provider: pathOfExile,
      clientId: 'poe-tool',
      redirectUri: REDIRECT_URI,
      http,
      storage: memoryStorage(),
      userAgentHeader: options.userAgentHeader,
      ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
    });
    return {
      fake,
      async signIn() {
        const { url } = await client.startAuthorization({ scopes: ['account:profile'] });
        const tokens = await client.completeAuthorization(await fake.approve(url));
        await client.refresh();
        return tokens;
      },
    };
  }

  it('a browser (no header, an Origin): code exchange and refresh succeed without a User-Agent', async () => {
    const { fake, signIn } = run({ userAgentHeader: false, origin: 'http://127.0.0.1:8080' });
    await expect(signIn()).resolves.toMatchObject({ accessToken: expect.stringMatching(/^poe-at-/) });
    expect(fake.requests.map((r) => r.headers['user-agent'])).toEqual([undefined, undefined]);
  });

  it('a browser given a userAgent: it is not sent (it could not be)', async () => {
    const { fake, signIn } = run({ userAgentHeader: false, userAgent: USER_AGENT, origin: 'http://127.0.0.1:8080' });
    await signIn();
    expect(fake.requests.map((r) => r.headers['user-agent'])).toEqual([undefined, undefined]);
  });

  it('a server: the User-Agent is sent, and still required', async () => {
    const { fake, signIn } = run({ userAgentHeader: true, userAgent: USER_AGENT });
    await signIn();
    expect(fake.requests.map((r) => r.headers['user-agent'])).toEqual([USER_AGENT, USER_AGENT]);
    await expect(run({ userAgentHeader: true }).signIn()).rejects.toMatchObject({ code: 'invalid_configuration', field: 'client.userAgent' });
  });

  it('the fake refuses a request without User-Agent and without Origin, and a wrong User-Agent with one', async () => {
    await expect(run({ userAgentHeader: false }).signIn()).rejects.toMatchObject({ code: 'invalid_request', description: expect.stringMatching(/User-Agent/) });
    const fake = fakePathOfExile({ clients: [{ clientId: 'poe-tool', redirectUris: [REDIRECT_URI] }] });
    const response = await fake.fetch('https://www.pathofexile.com/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://127.0.0.1:8080', 'user-agent': 'OAuth other/1.0 (contact: x@example.com)' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'rt', client_id: 'poe-tool' }).toString(),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request', error_description: 'User-Agent must name this client id' });
  });
});
