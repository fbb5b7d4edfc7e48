import { createOAuthClient, type LogoutResult, type OAuthClientOptions } from '../client.js';
import { OAuthError } from '../errors.js';
import { tokensKey } from '../grants/storage-keys.js';
import { callbackState } from '../provider/callback.js';
import type { ProviderInput } from '../provider/schema.js';
import type { Storage } from '../services/types.js';
import { webStorage, type WebStorageLike } from '../services/web-storage.js';
import type { TokenSet } from '../tokens.js';
import type { UserInfo } from '../oidc/userinfo.js';

/** A popup window as the helper uses it. */
export interface PopupLike {
  readonly closed: boolean;
  location: { href: string } | Location;
  close(): void;
}

interface MessageEventLike {
  data: unknown;
  origin?: string;
  source?: unknown;
  key?: string | null;
}

type Listener = (event: MessageEventLike) => void;

interface ChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: MessageEventLike) => void) | null;
}

/**
 * The parts of `window` the helper uses: the real `window` by default; tests pass a fake one.
 * Nothing else of the page is touched.
 */
export interface BrowserWindowLike {
  location: { href: string; origin: string; assign(url: string): void };
  history?: { state: unknown; replaceState(data: unknown, unused: string, url?: string | URL | null): void };
  sessionStorage?: WebStorageLike;
  open?(url?: string, target?: string, features?: string): PopupLike | null;
  opener?: { postMessage(message: unknown, targetOrigin: string): void } | null;
  close?(): void;
  addEventListener(type: string, listener: Listener): void;
  removeEventListener(type: string, listener: Listener): void;
  setInterval(handler: () => void, ms: number): unknown;
  clearInterval(id: unknown): void;
  screenX?: number;
  screenY?: number;
  outerWidth?: number;
  outerHeight?: number;
  BroadcastChannel?: new (name: string) => ChannelLike;
}

export interface BrowserAuthOptions extends Pick<OAuthClientOptions, 'http' | 'clock' | 'random' | 'timeoutMs' | 'retry' | 'lock' | 'refreshWindowMs' | 'inspect' | 'userAgent' | 'userAgentHeader' | 'matchRedirectUri'> {
  provider: ProviderInput;
  /** A public client's id: no secret ever goes to a browser. */
  clientId: string;
  /** Registered at the provider; the page that calls handleRedirectCallback (or handlePopupCallback). */
  redirectUri: string;
  scopes?: string[];
  /**
   * Where pending flows and tokens live. Default `webStorage(sessionStorage)`: one session per tab.
   * `webStorage(localStorage)` shares the session between the tabs of the origin.
   */
  storage?: Storage;
  /** Which stored TokenSet this helper uses. Default `default`. */
  key?: string;
  /** The BroadcastChannel that tells the other tabs of a change (no secret is ever posted). Default `grantflow`. */
  channelName?: string;
  /** The window the helper works in. Default: the global `window`. */
  window?: BrowserWindowLike;
}

export interface PopupOptions {
  width?: number;
  height?: number;
}

export interface LoginOptions {
  /** Sign in in a popup instead of redirecting this page: call login() in the click handler itself. */
  popup?: boolean | PopupOptions;
  /** Instead of the helper's scopes. */
  scopes?: string[];
  extraParams?: Record<string, string>;
}

export type RedirectCallbackResult =
  | { status: 'signed_in'; tokens: TokenSet }
  /** The callback URL was used before (Back, a reload), and the user is signed in. */
  | { status: 'already_handled' };

export type AuthEventType = 'signed_in' | 'refreshed' | 'signed_out';

export interface AuthEvent {
  type: AuthEventType;
  /** The stored tokens after the change, absent after `signed_out`. */
  tokens?: TokenSet;
}

export type AuthListener = (event: AuthEvent) => void;

export interface BrowserAuth {
  /** Redirects this page to the provider. */
  login(options?: LoginOptions & { popup?: false }): Promise<void>;
  /** Signs in in a popup; resolves with the tokens once the popup's callback page answered. */
  login(options: LoginOptions & { popup: true | PopupOptions }): Promise<TokenSet>;
  login(options?: LoginOptions): Promise<TokenSet | void>;
  /**
   * On the redirect URI's page: completes the flow, then removes code and state from the address
   * bar. A callback URL used before (Back, reload) resolves `already_handled` when the user is
   * signed in, and throws its OAuthError (`flow_not_found`, `state_mismatch`) otherwise.
   */
  handleRedirectCallback(url?: string): Promise<RedirectCallbackResult>;
  /** On the redirect URI's page, in the popup: hands the callback URL to the opener, then closes the popup. */
  handlePopupCallback(url?: string): void;
  /** Whether `url` (default: this page's) carries an authorization response (`code` or `error`). */
  isRedirectCallback(url?: string): boolean;
  /** The access token, refreshed first when it is near its expiry. */
  getAccessToken(): Promise<string>;
  /**
   * fetch with the access token presented (refreshed first when near expiry): `Authorization:
   * Bearer …`, or for a DPoP-bound token (RFC 9449) `Authorization: DPoP …` with a proof for this
   * request, answering one nonce challenge. With DPoP, use `indexedDbStorage()`: it keeps the key
   * pair non-extractable (web storage can only hold it as a JWK).
   */
  fetch(url: string, init?: RequestInit): Promise<Response>;
  /** OpenID Connect UserInfo (the provider's `openid.userinfoUrl`); its `sub` must be the id_token's. */
  getUserInfo(): Promise<UserInfo>;
  /** The stored tokens, if any. */
  getTokens(): Promise<TokenSet | undefined>;
  /** Whether a usable set is stored: not expired, or refreshable. */
  isAuthenticated(): Promise<boolean>;
  /** The facade's logout: revokes (default: where the provider can), deletes the stored set, never throws. */
  logout(options?: { revoke?: boolean }): Promise<LogoutResult>;
  /** Sign-in, refresh and sign-out, in this tab and in the others that share the storage. Returns the unsubscribe function. */
  subscribe(listener: AuthListener): () => void;
}

/** What the popup's callback page posts to its opener (same origin only). */
const POPUP_MESSAGE = 'grantflow:popup-callback';
/** How often a popup is checked for having been closed. */
const POPUP_POLL_MS = 250;
/** Authorization response parameters removed from the address bar once handled. */
const CALLBACK_PARAMS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state'];

const isCode = (error: unknown, ...codes: string[]) => error instanceof OAuthError && codes.includes(error.code);

/**
 * Sign-in for single-page apps, over createOAuthClient: PKCE and state as ever, no secret in the
 * browser, tokens in sessionStorage by default. See docs/browser.md.
 */
export function createBrowserAuth(options: BrowserAuthOptions): BrowserAuth {
  const win = options.window ?? (globalThis as unknown as BrowserWindowLike);
  const { provider: _provider, scopes, storage, key, channelName, window: _window, ...rest } = options;
  if (!storage && !win.sessionStorage) {
    throw new OAuthError('invalid_configuration', 'createBrowserAuth: this runtime has no sessionStorage; pass storage (indexedDbStorage() in a worker)', { field: 'storage' });
  }
  const client = createOAuthClient({ ...rest, provider: options.provider, storage: storage ?? webStorage(win.sessionStorage!) });
  const storedKey = tokensKey(client.provider.id, options.clientId, key);
  const keyed = key === undefined ? {} : { key };
  const listeners = new Set<AuthListener>();
  /** The access token (or '' when signed out) of the last state listeners were told; undefined until known. */
  let known: string | undefined;
  let channel: ChannelLike | undefined;

  const openChannel = (): ChannelLike | undefined => {
    if (!channel && win.BroadcastChannel) channel = new win.BroadcastChannel(channelName ?? 'grantflow');
    return channel;
  };

  function deliver(event: AuthEvent): void {
    known = event.tokens?.accessToken ?? '';
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug is its own: the others still hear of the change.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }

  /** A change made here: told to this tab's listeners, and to the other tabs by type and key only. */
  function changed(type: AuthEventType, tokens?: TokenSet): void {
    deliver(tokens ? { type, tokens } : { type });
    openChannel()?.postMessage({ type, key: storedKey });
  }

  const readTokens = () => client.getStoredTokens(keyed).catch(() => undefined);

  /** Another tab changed something: read the storage, and tell listeners what changed here (one look at a time). */
  let syncing: Promise<void> = Promise.resolve();
  const sync = (hint?: AuthEventType): Promise<void> => (syncing = syncing.then(() => look(hint)));

  async function look(hint?: AuthEventType): Promise<void> {
    const tokens = await readTokens();
    const now = tokens?.accessToken ?? '';
    if (now === known) return;
    const before = known;
    if (!tokens) return deliver({ type: 'signed_out' });
    deliver({ type: before === undefined || before === '' || hint === 'signed_in' ? 'signed_in' : 'refreshed', tokens });
  }

  const onStorage: Listener = (event) => {
    // localStorage changed in another tab: this key, or everything (clear()).
    if (event.key === null || (typeof event.key === 'string' && event.key.endsWith(storedKey))) void sync();
  };
  const onChannel = (event: MessageEventLike) => {
    const data = event.data as { type?: unknown; key?: unknown } | null;
    if (!data || data.key !== storedKey) return;
    const hint = data.type === 'signed_in' || data.type === 'refreshed' || data.type === 'signed_out' ? data.type : undefined;
    void sync(hint);
  };

  function subscribe(listener: AuthListener): () => void {
    if (listeners.size === 0) {
      win.addEventListener('storage', onStorage);
      const open = openChannel();
      if (open) open.onmessage = onChannel;
      if (known === undefined) void readTokens().then((tokens) => (known ??= tokens?.accessToken ?? ''));
    }
    listeners.add(listener);
    return () => {
      if (!listeners.delete(listener) || listeners.size > 0) return;
      win.removeEventListener('storage', onStorage);
      if (channel) channel.onmessage = null;
    };
  }

  function removeCallbackParams(url: string): void {
    if (!win.history || url !== win.location.href) return;
    const clean = new URL(url);
    for (const name of CALLBACK_PARAMS) clean.searchParams.delete(name);
    win.history.replaceState(win.history.state, '', clean.pathname + clean.search + clean.hash);
  }

  async function handleRedirectCallback(url: string = win.location.href): Promise<RedirectCallbackResult> {
    try {
      const { storageError: _kept, ...tokens } = await client.completeAuthorization(url);
      changed('signed_in', tokens);
      return { status: 'signed_in', tokens };
    } catch (error) {
      // Back or reload onto a callback used before: its flow is gone (or it has no state).
      if (isCode(error, 'flow_not_found', 'state_mismatch') && (await isAuthenticated())) return { status: 'already_handled' };
      throw error;
    } finally {
      removeCallbackParams(url);
    }
  }

  function isRedirectCallback(url: string = win.location.href): boolean {
    try {
      const params = new URL(url, win.location.href).searchParams;
      return params.has('code') || params.has('error');
    } catch {
      return false;
    }
  }

  function handlePopupCallback(url: string = win.location.href): void {
    if (!win.opener) {
      throw new OAuthError('invalid_callback', 'handlePopupCallback: this page has no opener (not opened by login({ popup: true }), or the opener was cut off by a Cross-Origin-Opener-Policy)', {
        field: 'window.opener',
      });
    }
    // Only a page of this origin can read it: the URL holds the authorization code.
    win.opener.postMessage({ type: POPUP_MESSAGE, url }, win.location.origin);
    win.close?.();
  }

  function openPopup(popup: true | PopupOptions): PopupLike {
    const { width = 500, height = 650 } = popup === true ? {} : popup;
    const left = Math.max(0, Math.round((win.screenX ?? 0) + ((win.outerWidth ?? width) - width) / 2));
    const top = Math.max(0, Math.round((win.screenY ?? 0) + ((win.outerHeight ?? height) - height) / 2));
    const opened = win.open?.('about:blank', 'grantflow-login', `popup,width=${width},height=${height},left=${left},top=${top}`) ?? null;
    if (!opened) {
      // `cancelled` before it began; field `popup.blocked` tells it from a popup the user closed.
      throw new OAuthError('cancelled', 'the sign-in popup was blocked by the browser: call login({ popup: true }) directly in a click handler, or sign in by redirect', {
        field: 'popup.blocked',
      });
    }
    return opened;
  }

  /** Resolves with the callback URL the popup's page posts; rejects `cancelled` when the popup closes first. */
  function popupCallback(popup: PopupLike, state: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const done = () => {
        win.removeEventListener('message', onMessage);
        win.clearInterval(timer);
      };
      const onMessage: Listener = (event) => {
        const data = event.data as { type?: unknown; url?: unknown } | null;
        if (event.origin !== win.location.origin || (event.source !== undefined && event.source !== null && event.source !== popup)) return;
        if (!data || data.type !== POPUP_MESSAGE || typeof data.url !== 'string' || callbackState(data.url) !== state) return;
        done();
        resolve(data.url);
      };
      const timer = win.setInterval(() => {
        if (!popup.closed) return;
        done();
        reject(new OAuthError('cancelled', 'the sign-in popup was closed before the sign-in finished', { field: 'popup.closed' }));
      }, POPUP_POLL_MS);
      win.addEventListener('message', onMessage);
    });
  }

  async function login(login: LoginOptions = {}): Promise<TokenSet | void> {
    // Opened before any await, while the click still counts as the user's: popup blockers allow it.
    const popup = login.popup ? openPopup(login.popup) : undefined;
    try {
      const started = await client.startAuthorization({
        ...keyed,
        ...((login.scopes ?? scopes) ? { scopes: login.scopes ?? scopes } : {}),
        ...(login.extraParams ? { extraParams: login.extraParams } : {}),
      });
      if (!popup) return win.location.assign(started.url);
      popup.location.href = started.url;
      const { storageError: _kept, ...tokens } = await client.completeAuthorization(await popupCallback(popup, started.state));
      changed('signed_in', tokens);
      return tokens;
    } finally {
      if (popup && !popup.closed) popup.close();
    }
  }

  async function getAccessToken(): Promise<string> {
    const before = await readTokens();
    try {
      const tokens = await client.getAccessToken(keyed);
      if (before && tokens.accessToken !== before.accessToken) changed('refreshed', tokens);
      return tokens.accessToken;
    } catch (error) {
      // A refused refresh deleted the stored set: this tab and the others are signed out.
      if (before && isCode(error, 'reauthorization_required') && !(await readTokens())) changed('signed_out');
      throw error;
    }
  }

  async function fetchWithToken(url: string, init: RequestInit = {}): Promise<Response> {
    await getAccessToken(); // tells the tabs when it refreshes
    return client.fetch(url, { ...init, ...keyed });
  }

  async function getUserInfo(): Promise<UserInfo> {
    await getAccessToken();
    return client.getUserInfo(keyed);
  }

  async function isAuthenticated(): Promise<boolean> {
    const tokens = await readTokens();
    if (!tokens) return false;
    return tokens.expiresAt === undefined || tokens.expiresAt > (options.clock?.now() ?? Date.now()) || tokens.refreshToken !== undefined;
  }

  async function logout(logout: { revoke?: boolean } = {}): Promise<LogoutResult> {
    const result = await client.logout({ ...keyed, ...(logout.revoke === undefined ? {} : { revoke: logout.revoke }) });
    changed('signed_out');
    return result;
  }

  return {
    login: login as BrowserAuth['login'],
    handleRedirectCallback,
    handlePopupCallback,
    isRedirectCallback,
    getAccessToken,
    fetch: fetchWithToken,
    getUserInfo,
    getTokens: readTokens,
    isAuthenticated,
    logout,
    subscribe,
  };
}
