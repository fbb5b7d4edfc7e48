import { timingSafeEqual } from '../crypto/pkce.js';
import { OAuthError } from '../errors.js';
import type { Provider } from './schema.js';
import { capDescription } from './token-response.js';

/** The callback parameters that must appear at most once (RFC 6749 §3.1), in the order they are checked. */
const SINGLE_PARAMETERS = ['state', 'error', 'error_description', 'error_uri', 'iss', 'code'] as const;

/** RFC 6749 §4.1.2.1: `error` and `error_description` are `%x20-21 / %x23-5B / %x5D-7E`. */
const ERROR_CHARSET = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;
const MAX_ERROR_LENGTH = 256;

/** Schemes that are never a redirect target, whatever the redirect URI says. */
const REFUSED_SCHEMES = new Set(['javascript', 'vbscript', 'data', 'file', 'blob', 'about', 'filesystem', 'view-source', 'ws', 'wss', 'ftp', 'mailto', 'tel', 'sms']);

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

interface ParsedCallback {
  /** The full callback URL, when one was given (not for a bare query string). */
  url: URL | undefined;
  /** The query's parameters, then the fragment's (response_mode=fragment): one in both is a duplicate. */
  params: URLSearchParams;
}

/** Throws a plain Error (not an OAuthError) when a full URL does not parse. */
function parseCallback(callback: string): ParsedCallback {
  const trimmed = callback.trim();
  if (SCHEME.test(trimmed)) {
    const url = new URL(trimmed);
    return { url, params: paramsOf(url) };
  }
  // A bare query string (`?code=…`, `code=…`) or fragment (`#code=…`): `#` starts the fragment here too.
  const bare = trimmed.startsWith('?') || trimmed.startsWith('#') ? trimmed : `?${trimmed}`;
  return { url: undefined, params: paramsOf(new URL(bare, 'https://callback.invalid/')) };
}

/** The query's parameters followed by the fragment's. */
function paramsOf(url: URL): URLSearchParams {
  const params = new URLSearchParams(url.search);
  if (url.hash.length > 1) for (const [name, value] of new URLSearchParams(url.hash.slice(1))) params.append(name, value);
  return params;
}

/**
 * The parameters of a callback URL, or of its query string alone (`?code=…&state=…` or `code=…`).
 * These are the query's parameters followed by the fragment's (response_mode=fragment), for a full URL and a bare string alike,
 * so that a parameter given in both appears twice and is refused as a duplicate.
 */
export function callbackParams(callback: string): URLSearchParams {
  return parseCallback(callback).params;
}

/** The `state` of a callback, to find its pending flow; undefined when absent, duplicated or unparseable. */
export function callbackState(callback: string): string | undefined {
  try {
    const states = callbackParams(callback).getAll('state');
    return states.length === 1 ? states[0] : undefined;
  } catch {
    return undefined;
  }
}

export interface CallbackExpectation {
  provider: Provider;
  state: string;
  /**
   * The redirect URI as sent in the authorization request. When given, a full callback URL must
   * have its scheme (an http(s) one, or an RFC 8252 private-use one such as `com.example.app:/cb`).
   */
  redirectUri?: string;
  /**
   * Also require the callback URL's origin and path to equal the redirect URI's (query and
   * fragment ignored). Off by default: behind a proxy the host an app sees may differ.
   * Needs `redirectUri`.
   */
  matchRedirectUri?: boolean;
}

/**
 * Checks a callback before any exchange, in this order: parseable, with an acceptable scheme
 * (and origin and path, when asked); `state` present once and equal (constant time); no
 * duplicated parameter (RFC 6749 §3.1); `error` → that code; `iss` when the provider declares
 * an issuer (RFC 9207: equal to it when present; required unless `authorization.requiresIss` is
 * false); `code` present. Returns the code or throws the OAuthError. Without the
 * flow's `state`, nothing else in a callback is believed: an `error` with a wrong state is
 * `state_mismatch`. No message carries the code or the state.
 */
export function checkCallback(callback: unknown, expected: CallbackExpectation): string {
  if (typeof callback !== 'string' || callback.trim() === '') {
    throw new OAuthError('invalid_callback', 'callback must be the callback URL or its query string', { field: 'callback.url' });
  }
  const redirect = expectedRedirect(expected);
  let parsed: ParsedCallback;
  try {
    parsed = parseCallback(callback);
  } catch {
    throw new OAuthError('invalid_callback', 'callback is not a valid URL', { field: 'callback.url' });
  }
  if (parsed.url !== undefined) checkCallbackUrl(parsed.url, redirect, expected.matchRedirectUri === true);
  const { params } = parsed;

  const states = params.getAll('state');
  if (states.length > 1) throw duplicated('state');
  const state = states[0];
  if (state === undefined || !timingSafeEqual(state, expected.state)) {
    throw new OAuthError('state_mismatch', state === undefined ? 'callback has no "state"' : 'callback "state" does not match this flow', {
      field: 'callback.state',
    });
  }
  for (const name of SINGLE_PARAMETERS) if (params.getAll(name).length > 1) throw duplicated(name);

  const issuer = expected.provider.issuer;
  const iss = params.get('iss');
  // RFC 9207 §2.4: a response from another issuer is refused before anything in it is believed, its
  // `error` too ("clients MUST NOT assume that the error originates from the intended authorization server").
  if (issuer !== undefined && iss !== null && iss !== issuer) {
    throw new OAuthError('invalid_callback', `callback "iss" is ${iss}, expected ${issuer}`, { field: 'callback.iss' });
  }
  const error = params.get('error');
  if (error !== null) {
    if (error === '' || error.length > MAX_ERROR_LENGTH || !ERROR_CHARSET.test(error)) {
      throw new OAuthError('invalid_callback', `callback "error" is not an OAuth error code (RFC 6749 §4.1.2.1: 1 to ${MAX_ERROR_LENGTH} printable ASCII characters, no " or \\)`, {
        field: 'callback.error',
      });
    }
    const description = errorDescription(params.get('error_description'));
    throw new OAuthError(error, `authorization failed: ${error}${description ? `: ${description}` : ''}`, {
      ...(description === undefined ? {} : { description }),
      field: 'callback.error',
      serverCode: error,
    });
  }
  // A missing `iss` is refused when the server is known to send it (an error answer without one is taken as it is).
  if (issuer !== undefined && iss === null && (expected.provider.authorization?.requiresIss ?? true)) {
    throw new OAuthError('invalid_callback', `callback has no "iss" (expected ${issuer})`, { field: 'callback.iss' });
  }
  const code = params.get('code');
  if (code === null || code === '') throw new OAuthError('invalid_callback', 'callback has no "code"', { field: 'callback.code' });
  return code;
}

function duplicated(name: string): OAuthError {
  return new OAuthError('invalid_callback', `callback has "${name}" more than once (RFC 6749 §3.1)`, { field: `callback.${name}` });
}

/** A valid `error_description`, capped at 1024 characters; one outside the RFC charset is dropped, not echoed. */
function errorDescription(value: string | null): string | undefined {
  if (value === null || value === '' || !ERROR_CHARSET.test(value)) return undefined;
  return capDescription(value);
}

const schemeOf = (url: URL) => url.protocol.slice(0, -1).toLowerCase();
const isHttp = (scheme: string) => scheme === 'http' || scheme === 'https';
/** RFC 8252 §7.1: a private-use scheme is a domain name in reverse order (`com.example.app`). */
const isPrivateUse = (scheme: string) => scheme.includes('.') && !REFUSED_SCHEMES.has(scheme);

/** The callback URL without its query and fragment: scheme, authority and path. */
function withoutQuery(url: URL): string {
  const copy = new URL(url.href);
  copy.search = '';
  copy.hash = '';
  return copy.href;
}

/** The redirect URI to compare a callback URL with, parsed; a bad expectation is the caller's error. */
function expectedRedirect(expected: CallbackExpectation): URL | undefined {
  if (expected.redirectUri === undefined) {
    if (expected.matchRedirectUri) {
      throw new OAuthError('invalid_configuration', 'matchRedirectUri needs the redirectUri to compare the callback URL with', { field: 'redirectUri' });
    }
    return undefined;
  }
  try {
    return new URL(expected.redirectUri);
  } catch {
    throw new OAuthError('invalid_configuration', 'redirectUri is not a valid URL', { field: 'redirectUri' });
  }
}

function checkCallbackUrl(url: URL, redirect: URL | undefined, matchRedirectUri: boolean): void {
  const scheme = schemeOf(url);
  const refuse = (message: string) => new OAuthError('invalid_callback', message, { field: 'callback.url' });
  if (REFUSED_SCHEMES.has(scheme)) throw refuse(`callback URL scheme "${scheme}:" is never a redirect target`);
  if (redirect === undefined) {
    if (!isHttp(scheme) && !isPrivateUse(scheme)) {
      throw refuse(`callback URL scheme "${scheme}:" is neither http(s) nor a private-use scheme (RFC 8252 §7.1)`);
    }
    return;
  }
  const redirectScheme = schemeOf(redirect);
  if (scheme !== redirectScheme) throw refuse(`callback URL scheme "${scheme}:" is not the redirect URI's "${redirectScheme}:"`);
  if (matchRedirectUri && withoutQuery(url) !== withoutQuery(redirect)) {
    throw refuse("callback URL origin and path are not the redirect URI's");
  }
}
