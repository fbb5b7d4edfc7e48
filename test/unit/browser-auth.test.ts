import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBrowserAuth, type AuthEvent, type BrowserWindowLike, type PopupLike } from '../../src/browser/index.js';
import { tokensKey } from '../../src/grants/storage-keys.js';
import { pathOfExile } from '../../src/providers/index.js';
import { webStorage, type WebStorageLike } from '../../src/services/web-storage.js';
import { fakePathOfExile } from '../../src/testing/index.js';

/**
 * createBrowserAuth over fakes of the window, its history, Web Storage and BroadcastChannel, and
 * the fake Path of Exile (which, as its document says, takes a browser's request without a
 * User-Agent: these requests carry an Origin and no User-Agent, as a browser's would).
 */

const ORIGIN = 'http://127.0.0.1:8080';
const REDIRECT_URI = `${ORIGIN}/callback`;
const CLIENT_ID = 'poe-tool';

class FakeWebStorage implements WebStorageLike {
  readonly items = new Map<string, string>();
  /** The tabs sharing it (localStorage): each change is a `storage` event in the others. */
  readonly tabs: FakeWindow[] = [];
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string, writer?: FakeWindow) {
    const old = this.getItem(key);
    this.items.set(key, value);
    this.tell(writer, key, old, value);
  }
  removeItem(key: string, writer?: FakeWindow) {
    const old = this.getItem(key);
    this.items.delete(key);
    this.tell(writer, key, old, null);
  }
  /** This storage as one tab sees it: its own writes are no event there. */
  viewFrom(tab: FakeWindow): WebStorageLike {
    return { getItem: (key) => this.getItem(key), setItem: (key, value) => this.setItem(key, value, tab), removeItem: (key) => this.removeItem(key, tab) };
  }
  private tell(writer: FakeWindow | undefined, key: string, oldValue: string | null, newValue: string | null) {
    for (const tab of this.tabs) if (tab !== writer) queueMicrotask(() => tab.dispatch('storage', { key, oldValue, newValue, data: undefined }));
  }
}

/** One BroadcastChannel "bus" per test: a message reaches every other channel of the name. */
function channelBus() {
  const open = new Set<FakeChannel>();
  const posted: unknown[] = [];
  class FakeChannel {
    onmessage: ((event: { data: unknown }) => void) | null = null;
    constructor(readonly name: string) {
      open.add(this);
    }
    postMessage(message: unknown) {
      posted.push(structuredClone(message));
      for (const other of open) if (other !== this && other.name === this.name) queueMicrotask(() => other.onmessage?.({ data: structuredClone(message) }));
    }
    close() {
      open.delete(this);
    }
  }
  return { FakeChannel, posted };
}

class FakePopup implements PopupLike {
  closed = false;
  location = { href: 'about:blank' };
  close() {
    this.closed = true;
  }
}

class FakeWindow implements BrowserWindowLike {
  location: BrowserWindowLike['location'];
  history: { state: unknown; replaceState: (data: unknown, unused: string, url?: string | URL | null) => void };
  assigned: string[] = [];
  listeners = new Map<string, Set<(event: any) => void>>();
  popups: FakePopup[] = [];
  blockPopups = false;
  opener: { postMessage(message: unknown, targetOrigin: string): void } | null = null;
  closedSelf = false;
  BroadcastChannel: any;
  constructor(
    readonly sessionStorage: WebStorageLike,
    Channel: unknown,
    href = `${ORIGIN}/`,
  ) {
    this.BroadcastChannel = Channel;
    const self = this;
    let current = href;
    this.location = {
      get href() {
        return current;
      },
      origin: ORIGIN,
      assign(url: string) {
        self.assigned.push(url);
      },
    };
    this.history = {
      state: null,
      replaceState: (_data, _unused, url) => {
        current = new URL(String(url), current).href;
      },
    };
  }
  setHref(href: string) {
    this.history.replaceState(null, '', href);
  }
  open() {
    if (this.blockPopups) return null;
    const popup = new FakePopup();
    this.popups.push(popup);
    return popup;
  }
  close() {
    this.closedSelf = true;
  }
  addEventListener(type: string, listener: (event: any) => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }
  removeEventListener(type: string, listener: (event: any) => void) {
    this.listeners.get(type)?.delete(listener);
  }
  dispatch(type: string, event: Record<string, unknown>) {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener(event);
  }
  setInterval(handler: () => void, ms: number) {
    return setInterval(handler, ms);
  }
  clearInterval(id: unknown) {
    clearInterval(id as ReturnType<typeof setInterval>);
  }
}

/** The fake Path of Exile, reached as a browser does: with an Origin header and no User-Agent. */
function browserFetch(fake: ReturnType<typeof fakePathOfExile>) {
  const userAgents: Array<string | null> = [];
  const http = (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    userAgents.push(headers.get('user-agent'));
    headers.set('origin', ORIGIN);
    return fake.fetch(input, { ...init, headers });
  };
  return { http, userAgents };
}

function setup(options: { storage?: 'session' | 'local' } = {}) {
  const fake = fakePathOfExile({ clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }], accessTokenTtlSeconds: 3600 });
  const { http, userAgents } = browserFetch(fake);
  const bus = channelBus();
  const shared = new FakeWebStorage();
  const tab = (href?: string) => {
    const own = new FakeWebStorage();
    const store = options.storage === 'local' ? shared : own;
    const win = new FakeWindow(own, bus.FakeChannel, href);
    if (options.storage === 'local') shared.tabs.push(win);
    const auth = createBrowserAuth({
      provider: pathOfExile,
      clientId: CLIENT_ID,
      redirectUri: REDIRECT_URI,
      scopes: ['account:profile'],
      http,
      userAgentHeader: false,
      window: win,
      ...(options.storage === 'local' ? { storage: webStorage(shared.viewFrom(win), { locks: false }) } : {}),
    });
    return { win, auth, store };
  };
  return { fake, userAgents, bus, tab, shared };
}

/** Redirect login in `tab`: the URL it was sent to, approved, and handled on the callback page. */
async function signIn(t: ReturnType<ReturnType<typeof setup>['tab']>, fake: ReturnType<typeof fakePathOfExile>) {
  await t.auth.login();
  const callbackUrl = await fake.approve(t.win.assigned.at(-1)!);
  t.win.setHref(callbackUrl);
  return { callbackUrl, result: await t.auth.handleRedirectCallback() };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createBrowserAuth: redirect sign-in', () => {
  it('login() sends the page to the authorization URL (PKCE S256, state); the callback signs in and cleans the address bar', async () => {
    const { fake, tab, userAgents } = setup();
    const t = tab();
    await t.auth.login();
    const url = new URL(t.win.assigned[0]!);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('scope')).toBe('account:profile');
    const callbackUrl = await fake.approve(url.href);
    t.win.setHref(`${callbackUrl}#section`);
    const result = await t.auth.handleRedirectCallback();
    expect(result.status).toBe('signed_in');
    expect(result.status === 'signed_in' && result.tokens.accessToken).toMatch(/^poe-at-/);
    expect(t.win.location.href).toBe(`${REDIRECT_URI}#section`);
    expect(await t.auth.isAuthenticated()).toBe(true);
    expect(await t.auth.getAccessToken()).toBe(result.status === 'signed_in' ? result.tokens.accessToken : '');
    // No User-Agent was built: the runtime (here: the flag) cannot send one, and Path of Exile's is not asked for.
    expect(userAgents).toEqual([null]);
    // sessionStorage by default.
    expect([...(t.win.sessionStorage as FakeWebStorage).items.keys()]).toContain(tokensKey('path-of-exile', CLIENT_ID));
  });

  it('a used callback URL (Back, reload) resolves already_handled when signed in, and throws flow_not_found when not', async () => {
    const { fake, tab } = setup();
    const t = tab();
    const { callbackUrl } = await signIn(t, fake);
    t.win.setHref(callbackUrl);
    await expect(t.auth.handleRedirectCallback()).resolves.toEqual({ status: 'already_handled' });
    expect(t.win.location.href).toBe(REDIRECT_URI);
    await t.auth.logout();
    t.win.setHref(callbackUrl);
    await expect(t.auth.handleRedirectCallback()).rejects.toMatchObject({ code: 'flow_not_found' });
    expect(t.win.location.href).toBe(REDIRECT_URI);
    // A callback page without state: state_mismatch, not signed in.
    await expect(t.auth.handleRedirectCallback(`${REDIRECT_URI}?code=x`)).rejects.toMatchObject({ code: 'state_mismatch' });
  });

  it('an error callback throws its OAuthError (access_denied)', async () => {
    const { fake, tab } = setup();
    const t = tab();
    await t.auth.login();
    t.win.setHref(await fake.deny(t.win.assigned[0]!));
    expect(t.auth.isRedirectCallback()).toBe(true);
    await expect(t.auth.handleRedirectCallback()).rejects.toMatchObject({ code: 'access_denied' });
    expect(t.auth.isRedirectCallback()).toBe(false);
    expect(await t.auth.isAuthenticated()).toBe(false);
  });

  it('getAccessToken refreshes near expiry and tells subscribers "refreshed"; logout tells "signed_out"', async () => {
    let now = Date.now();
    const fake = fakePathOfExile({ clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }], accessTokenTtlSeconds: 3600 });
    const { http } = browserFetch(fake);
    const win = new FakeWindow(new FakeWebStorage(), channelBus().FakeChannel);
    const auth = createBrowserAuth({ provider: pathOfExile, clientId: CLIENT_ID, redirectUri: REDIRECT_URI, http, userAgentHeader: false, window: win, clock: { now: () => now } });
    const events: AuthEvent[] = [];
    auth.subscribe((event) => events.push(event));
    await auth.login();
    win.setHref(await fake.approve(win.assigned[0]!));
    const first = await auth.handleRedirectCallback();
    now += 3600_000;
    const token = await auth.getAccessToken();
    expect(token).not.toBe(first.status === 'signed_in' && first.tokens.accessToken);
    const result = await auth.logout({ revoke: false });
    expect(result).toMatchObject({ deleted: true, revoked: false });
    expect(events.map((e) => e.type)).toEqual(['signed_in', 'refreshed', 'signed_out']);
    expect(events[1]!.tokens?.accessToken).toBe(token);
    expect(await auth.isAuthenticated()).toBe(false);
    await expect(auth.getAccessToken()).rejects.toMatchObject({ code: 'reauthorization_required' });
  });

  it('without sessionStorage and without a storage option: invalid_configuration naming storage', () => {
    const win = new FakeWindow(undefined as never, undefined);
    expect(() => createBrowserAuth({ provider: pathOfExile, clientId: CLIENT_ID, redirectUri: REDIRECT_URI, window: { ...win, sessionStorage: undefined } as never })).toThrow(
      expect.objectContaining({ code: 'invalid_configuration', field: 'storage' }),
    );
  });
});

describe('createBrowserAuth: popup sign-in', () => {
  it('opens the popup at once, sends it to the provider, completes with the posted callback URL and closes it', async () => {
    const { fake, tab } = setup();
    const t = tab();
    const signingIn = t.auth.login({ popup: { width: 400, height: 500 } });
    // Opened synchronously, inside the click: popup blockers allow it.
    expect(t.win.popups).toHaveLength(1);
    const popup = t.win.popups[0]!;
    await vi.waitFor(() => expect(popup.location.href).toMatch(/\/oauth\/authorize\?/));
    const callbackUrl = await fake.approve(popup.location.href);

    // The callback page in the popup posts its URL to the opener, for this origin only.
    const popupWin = new FakeWindow(new FakeWebStorage(), undefined, callbackUrl);
    const posted: Array<{ message: unknown; targetOrigin: string }> = [];
    popupWin.opener = { postMessage: (message, targetOrigin) => posted.push({ message, targetOrigin }) };
    const popupAuth = createBrowserAuth({ provider: pathOfExile, clientId: CLIENT_ID, redirectUri: REDIRECT_URI, window: popupWin });
    popupAuth.handlePopupCallback();
    expect(popupWin.closedSelf).toBe(true);
    expect(posted).toEqual([{ message: { type: 'grantflow:popup-callback', url: callbackUrl }, targetOrigin: ORIGIN }]);

    // Messages from another origin, another window, or with another state are ignored.
    t.win.dispatch('message', { origin: 'http://evil.example', source: popup, data: posted[0]!.message });
    t.win.dispatch('message', { origin: ORIGIN, source: {}, data: posted[0]!.message });
    t.win.dispatch('message', { origin: ORIGIN, source: popup, data: { type: 'grantflow:popup-callback', url: `${REDIRECT_URI}?code=x&state=other` } });
    t.win.dispatch('message', { origin: ORIGIN, source: popup, data: posted[0]!.message });
    const tokens = await signingIn;
    expect(tokens.accessToken).toMatch(/^poe-at-/);
    expect(popup.closed).toBe(true);
    expect(await t.auth.isAuthenticated()).toBe(true);
  });

  it('a popup closed before the callback rejects with cancelled', async () => {
    const { tab } = setup();
    const t = tab();
    const signingIn = t.auth.login({ popup: true });
    t.win.popups[0]!.close();
    await expect(signingIn).rejects.toMatchObject({ code: 'cancelled', field: 'popup.closed' });
  });

  it('a blocked popup rejects at once (cancelled, popup.blocked) with a message saying what to do', async () => {
    const { tab } = setup();
    const t = tab();
    t.win.blockPopups = true;
    await expect(t.auth.login({ popup: true })).rejects.toMatchObject({ code: 'cancelled', field: 'popup.blocked', message: expect.stringMatching(/blocked.*click handler/) });
  });

  it('handlePopupCallback without an opener throws invalid_callback', () => {
    const win = new FakeWindow(new FakeWebStorage(), undefined, `${REDIRECT_URI}?code=c&state=s`);
    const auth = createBrowserAuth({ provider: pathOfExile, clientId: CLIENT_ID, redirectUri: REDIRECT_URI, window: win });
    expect(() => auth.handlePopupCallback()).toThrow(expect.objectContaining({ code: 'invalid_callback', field: 'window.opener' }));
  });
});

describe('createBrowserAuth: subscribe across tabs', () => {
  it('localStorage: sign-in, refresh and logout in one tab reach the other through BroadcastChannel and the storage event, once each', async () => {
    const { fake, tab, bus } = setup({ storage: 'local' });
    const a = tab();
    const b = tab();
    const seen: AuthEvent[] = [];
    const unsubscribe = b.auth.subscribe((event) => seen.push(event));
    await new Promise((resolve) => setTimeout(resolve, 0));
    const { result } = await signIn(a, fake);
    await vi.waitFor(() => expect(seen.map((e) => e.type)).toEqual(['signed_in']));
    expect(seen[0]!.tokens?.accessToken).toBe(result.status === 'signed_in' ? result.tokens.accessToken : '');
    expect(await b.auth.isAuthenticated()).toBe(true);
    await a.auth.logout();
    await vi.waitFor(() => expect(seen.map((e) => e.type)).toEqual(['signed_in', 'signed_out']));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.map((e) => e.type)).toEqual(['signed_in', 'signed_out']);
    // Only the event type and the storage key travel on the channel: never a token.
    for (const message of bus.posted) expect(Object.keys(message as object).sort()).toEqual(['key', 'type']);
    expect(JSON.stringify(bus.posted)).not.toMatch(/poe-(at|rt)-/);
    unsubscribe();
    await signIn(a, fake);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toHaveLength(2);
  });

  it('the storage event alone (no BroadcastChannel) is enough', async () => {
    const { fake, tab } = setup({ storage: 'local' });
    const a = tab();
    const b = tab();
    b.win.BroadcastChannel = undefined;
    const seen: string[] = [];
    b.auth.subscribe((event) => seen.push(event.type));
    await new Promise((resolve) => setTimeout(resolve, 0));
    await signIn(a, fake);
    await vi.waitFor(() => expect(seen).toEqual(['signed_in']));
    await a.auth.logout();
    await vi.waitFor(() => expect(seen).toEqual(['signed_in', 'signed_out']));
  });

  it('sessionStorage: another tab signing out does not sign this one out', async () => {
    const { fake, tab } = setup();
    const a = tab();
    const b = tab();
    await signIn(a, fake);
    await signIn(b, fake);
    const seen: string[] = [];
    b.auth.subscribe((event) => seen.push(event.type));
    await new Promise((resolve) => setTimeout(resolve, 0));
    await a.auth.logout();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual([]);
    expect(await b.auth.isAuthenticated()).toBe(true);
  });

  it('a throwing listener does not keep the others from hearing', async () => {
    const { fake, tab } = setup();
    const a = tab();
    const heard: string[] = [];
    a.auth.subscribe(() => {
      throw new Error('listener bug');
    });
    a.auth.subscribe((event) => heard.push(event.type));
    const original = globalThis.setTimeout;
    const thrown: unknown[] = [];
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) =>
      original(() => {
        try {
          fn();
        } catch (error) {
          thrown.push(error);
        }
      }, ms)) as never);
    await signIn(a, fake);
    vi.restoreAllMocks();
    expect(heard).toEqual(['signed_in']);
    await vi.waitFor(() => expect(thrown).toEqual([new Error('listener bug')]));
  });
});
