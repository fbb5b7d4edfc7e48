/** Any Headers-like object (fetch's Headers, or a shape): names are looked up case-insensitively by it. */
export interface HeadersLike {
  get(name: string): string | null;
}

/** A server's answer, as far as a nonce error needs it (a RawResponse is one). */
export interface NonceErrorResponse {
  status: number;
  headers: HeadersLike;
  /** The body; only a 400 from an authorization server needs it. */
  text?: string;
}

/** RFC 9449 §8.1: nonce = 1*NQCHAR; NQCHAR = %x21 / %x23-5B / %x5D-7E. */
const NONCE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export const isDpopNonce = (value: unknown): value is string => typeof value === 'string' && value.length <= 1024 && NONCE.test(value);

/** The DPoP-Nonce header of a response, when it is a valid nonce. */
export function dpopNonceOf(headers: HeadersLike): string | undefined {
  const value = headers.get('dpop-nonce')?.trim();
  return isDpopNonce(value) ? value : undefined;
}

export interface DpopNonceStore {
  /** Keeps the response's DPoP-Nonce for the request URL's origin; a response without one changes nothing. */
  remember(url: string | URL, headers: HeadersLike): void;
  /** The latest nonce for the URL's origin, if any. */
  get(url: string | URL): string | undefined;
}

const originOf = (url: string | URL): string | undefined => {
  try {
    const { origin } = new URL(url);
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
};

/**
 * The latest DPoP-Nonce per origin: a nonce belongs to the server that issued it (RFC 9449 §8.2,
 * §9), and the authorization and resource servers keep theirs apart. Bounded: past `max` origins
 * (default 100), the least recently used is forgotten.
 */
export function createDpopNonceStore(options: { max?: number } = {}): DpopNonceStore {
  const max = Math.max(1, options.max ?? 100);
  const nonces = new Map<string, string>();
  return {
    remember(url, headers) {
      const origin = originOf(url);
      const nonce = dpopNonceOf(headers);
      if (origin === undefined || nonce === undefined) return;
      nonces.delete(origin); // re-inserted last: most recently used
      nonces.set(origin, nonce);
      if (nonces.size > max) nonces.delete(nonces.keys().next().value!);
    },
    get(url) {
      const origin = originOf(url);
      const nonce = origin === undefined ? undefined : nonces.get(origin);
      if (nonce !== undefined) {
        nonces.delete(origin!);
        nonces.set(origin!, nonce);
      }
      return nonce;
    },
  };
}

import { parseWwwAuthenticate } from '../provider/www-authenticate.js';
export { parseWwwAuthenticate, type AuthChallenge } from '../provider/www-authenticate.js';

/**
 * Whether a server asks for a (new) DPoP nonce, with one to retry with once:
 * - an authorization server (RFC 9449 §8): HTTP 400, JSON `{"error":"use_dpop_nonce"}`;
 * - a resource server (§9): HTTP 401, `WWW-Authenticate: DPoP error="use_dpop_nonce"`;
 * and, either way, a valid `DPoP-Nonce` header: without one a retry would fail the same way.
 */
export function isDpopNonceError(response: NonceErrorResponse): boolean {
  if (dpopNonceOf(response.headers) === undefined) return false;
  if (response.status === 400) {
    try {
      const body: unknown = JSON.parse(response.text ?? '');
      return typeof body === 'object' && body !== null && (body as { error?: unknown }).error === 'use_dpop_nonce';
    } catch {
      return false;
    }
  }
  if (response.status === 401) {
    const header = response.headers.get('www-authenticate');
    return header !== null && parseWwwAuthenticate(header).some((c) => c.scheme.toLowerCase() === 'dpop' && c.params.error === 'use_dpop_nonce');
  }
  return false;
}
