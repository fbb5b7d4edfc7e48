import type { JsonWebKeyLike } from '../crypto/web-types.js';
/**
 * Shared parts of the fake providers: request parsing, a store of single-use expiring codes,
 * PKCE verification, JSON answers and one-off injected failures. Each provider's own rules live
 * in its own file, written from its document. Browser-safe: WebCrypto only.
 */

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface FakeClock {
  now(): number;
}

export interface FakeClient {
  clientId: string;
  redirectUris: string[];
  clientSecret?: string;
  /** Public key for RS256 client assertions (private_key_jwt). */
  publicKeyJwk?: JsonWebKeyLike;
}

export interface FakeOptions {
  clients?: FakeClient[];
  clock?: FakeClock;
  codeLifetimeMs?: number;
  random?: (bytes: number) => Uint8Array;
}

export interface ApproveOptions {
  /** Account the user signs in with (kept with the code; some providers return it). */
  user?: string;
  /** Poe: the expiry the user picks on the consent screen, in seconds; null for a key that never expires. */
  apiKeyExpiresIn?: number | null;
}

export type FailureKind = 'server_error' | 'http_500' | 'http_503' | 'http_429' | 'timeout' | 'network_error' | 'html_502';

export interface LoggedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The parsed form or JSON body (empty when neither). */
  body: Record<string, unknown>;
  rawBody: string;
}

/**
 * A fake provider is itself a fetch-compatible function (pass it as `http`), answering the
 * provider's token endpoint (routed by path, so any origin works), with the user's actions
 * and a log beside it.
 */
export interface FakeProvider extends FetchLike {
  /** The same function, for `http: fake.fetch`. */
  fetch: FetchLike;
  /** Acts as the user approving: the callback URL the provider would redirect to. */
  approve(authorizationUrl: string, options?: ApproveOptions): Promise<string>;
  /** Acts as the user denying: the callback URL with `error=access_denied`. */
  deny(authorizationUrl: string): Promise<string>;
  /** Makes the next token request fail once, the given way. */
  failNext(kind: FailureKind, options?: { retryAfterSeconds?: number }): void;
  /** Every token request received, parsed. */
  readonly requests: LoggedRequest[];
}

/** An authorization request the fake refuses to redirect (unknown client, unregistered redirect URI). */
export class FakeProviderError extends Error {
  override readonly name = 'FakeProviderError';
}

export function randomToken(random: (bytes: number) => Uint8Array, prefix = '', bytes = 24): string {
  let binary = '';
  for (const byte of random(bytes)) binary += String.fromCharCode(byte);
  return prefix + btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export const defaultRandom = (bytes: number) => crypto.getRandomValues(new Uint8Array(bytes));
export const systemClock: FakeClock = { now: () => Date.now() };

/** RFC 7636 §4.6: S256 is BASE64URL(SHA256(ASCII(verifier))); plain is the verifier itself. */
export async function pkceMatches(verifier: string, challenge: string, method: string): Promise<boolean> {
  if (method === 'plain') return verifier === challenge;
  if (method !== 'S256') return false;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') === challenge;
}

/** RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~]. */
export const VERIFIER_SHAPE = /^[A-Za-z0-9\-._~]{43,128}$/;

export interface IssuedCode<T> {
  data: T;
  expiresAt: number;
}

/** Authorization codes: random, single-use, expiring. A used code stays known so reuse can be told apart. */
export class CodeStore<T> {
  private readonly codes = new Map<string, IssuedCode<T> & { used: boolean }>();
  constructor(
    private readonly clock: FakeClock,
    private readonly lifetimeMs: number,
    private readonly random: (bytes: number) => Uint8Array,
  ) {}

  issue(data: T, prefix = ''): string {
    const code = randomToken(this.random, prefix);
    this.codes.set(code, { data, expiresAt: this.clock.now() + this.lifetimeMs, used: false });
    return code;
  }

  /** The code's data, consuming it; or why it is refused. */
  consume(code: unknown): { ok: true; data: T } | { ok: false; reason: 'unknown' | 'used' | 'expired' } {
    if (typeof code !== 'string') return { ok: false, reason: 'unknown' };
    const entry = this.codes.get(code);
    if (!entry) return { ok: false, reason: 'unknown' };
    if (entry.used) return { ok: false, reason: 'used' };
    entry.used = true;
    if (entry.expiresAt <= this.clock.now()) return { ok: false, reason: 'expired' };
    return { ok: true, data: entry.data };
  }
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  });
}

/** RFC 6749 §5.2 error body. */
export function oauthError(error: string, description: string, status = 400, headers: Record<string, string> = {}): Response {
  return json({ error, error_description: description }, status, headers);
}

/** Reads a request, whatever was passed to fetch, into a logged form. */
export async function readRequest(input: string | URL | Request, init?: RequestInit): Promise<{ request: Request; logged: LoggedRequest }> {
  const request = input instanceof Request && init === undefined ? input : new Request(input, init);
  const rawBody = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.clone().text();
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => (headers[key] = value));
  const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim();
  let body: Record<string, unknown> = {};
  if (contentType === 'application/x-www-form-urlencoded') body = Object.fromEntries(new URLSearchParams(rawBody));
  else if (contentType === 'application/json') {
    try {
      const parsed: unknown = JSON.parse(rawBody);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      body = {};
    }
  }
  return { request, logged: { method: request.method, url: request.url, headers, body, rawBody } };
}

/** One-off failures, injected before the provider's own handling. */
export class FailureInjector {
  private pending: { kind: FailureKind; retryAfterSeconds?: number } | undefined;

  set(kind: FailureKind, options: { retryAfterSeconds?: number } = {}): void {
    this.pending = { kind, ...options };
  }

  /** The injected answer for this request, if one is pending; `serverError` is the provider's own server_error answer. */
  async take(signal: AbortSignal | null | undefined, serverError: () => Response): Promise<Response | undefined> {
    const failure = this.pending;
    if (!failure) return undefined;
    this.pending = undefined;
    switch (failure.kind) {
      case 'server_error':
        return serverError();
      case 'http_500':
        return new Response('Internal Server Error', { status: 500, headers: { 'content-type': 'text/plain' } });
      case 'http_503':
        return new Response('Service Unavailable', {
          status: 503,
          headers: { 'content-type': 'text/plain', ...(failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) }) },
        });
      case 'html_502':
        return new Response('<html><body><h1>502 Bad Gateway</h1></body></html>', { status: 502, headers: { 'content-type': 'text/html' } });
      case 'http_429':
        return new Response('Too Many Requests', {
          status: 429,
          headers: { 'content-type': 'text/plain', ...(failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) }) },
        });
      case 'network_error':
        throw new TypeError('fetch failed');
      case 'timeout':
        // Never answers; only the caller's abort ends it.
        return new Promise<Response>((_resolve, reject) => {
          const abort = () => reject(new DOMException('The operation was aborted.', 'AbortError'));
          if (signal?.aborted) abort();
          else signal?.addEventListener('abort', abort, { once: true });
        });
    }
  }
}

/** The callback URL: the redirect URI with extra query parameters (the redirect URI's own query kept). */
export function redirectWith(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

export function findClient(clients: FakeClient[], clientId: string | null | undefined): FakeClient | undefined {
  return clients.find((client) => client.clientId === clientId);
}

/** RFC 6749 §2.3.1 HTTP Basic credentials (form-encoded id and secret), or undefined. */
export function basicCredentials(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  try {
    const decoded = new TextDecoder().decode(Uint8Array.from(atob(header.slice(6).trim()), (c) => c.charCodeAt(0)));
    const colon = decoded.indexOf(':');
    if (colon === -1) return undefined;
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { clientId: decode(decoded.slice(0, colon)), clientSecret: decode(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/**
 * The frame every fake shares: log the request, route by path (so it works at any origin, served
 * on 127.0.0.1 too), apply an injected failure, then the provider's own handler.
 */
export function fakeFetch(options: {
  log: LoggedRequest[];
  failures: FailureInjector;
  routes: Record<string, (request: Request, logged: LoggedRequest) => Promise<Response> | Response>;
  serverError: () => Response;
}): FetchLike {
  return async (input, init) => {
    const { request, logged } = await readRequest(input, init);
    const path = new URL(request.url).pathname;
    const route = options.routes[path];
    if (!route) return new Response('Not Found', { status: 404 });
    options.log.push(logged);
    const injected = await options.failures.take(request.signal ?? init?.signal, options.serverError);
    if (injected) return injected;
    return route(request, logged);
  };
}

/** An authorization request as a fake checked it: where to redirect, and the state to return. */
export interface CheckedAuthorization {
  redirectUri: string;
  state?: string | undefined;
}

/**
 * The FakeProvider of a provider that answers at a token endpoint and redirects the user back
 * with `code` and `state` (Poe, Path of Exile, POEMS): each brings its own checks and token
 * handler; approving issues a code, denying redirects with `access_denied`.
 */
export function redirectingFake<TChecked extends CheckedAuthorization>(options: {
  tokenPath: string;
  token: (request: Request, logged: LoggedRequest) => Promise<Response>;
  serverError: () => Response;
  /** The checked request, or the callback URL of an error the provider redirects. */
  authorize: (authorizationUrl: string) => TChecked | { error: string };
  /** Issues a code for an approved request. */
  issue: (checked: TChecked, approval: ApproveOptions) => string;
  /** error_description of a denial, where the provider sends one. */
  denyDescription?: string;
}): FakeProvider {
  const requests: LoggedRequest[] = [];
  const failures = new FailureInjector();
  const fetch = fakeFetch({ log: requests, failures, routes: { [options.tokenPath]: options.token }, serverError: options.serverError });
  return Object.assign((input: string | URL | Request, init?: RequestInit) => fetch(input, init), {
    fetch,
    async approve(authorizationUrl: string, approval: ApproveOptions = {}) {
      const checked = options.authorize(authorizationUrl);
      if ('error' in checked) return checked.error;
      return redirectWith(checked.redirectUri, { code: options.issue(checked, approval), state: checked.state });
    },
    async deny(authorizationUrl: string) {
      const checked = options.authorize(authorizationUrl);
      if ('error' in checked) return checked.error;
      return redirectWith(checked.redirectUri, { error: 'access_denied', error_description: options.denyDescription, state: checked.state });
    },
    failNext: (kind: FailureKind, failOptions?: { retryAfterSeconds?: number }) => failures.set(kind, failOptions),
    requests,
  });
}
