import { timingSafeEqual } from '../crypto/pkce.js';
import { OAuthError } from '../errors.js';
import type { Provider } from './schema.js';

/** The parameters of a callback URL, or of its query string alone (`?code=…&state=…` or `code=…`). */
export function callbackParams(callback: string): URLSearchParams {
  const trimmed = callback.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) {
    const url = new URL(trimmed);
    // Some servers answer in the fragment (response_mode=fragment); the query wins when both have a code.
    const query = url.searchParams;
    if (!query.has('code') && !query.has('error') && url.hash.length > 1) return new URLSearchParams(url.hash.slice(1));
    return query;
  }
  return new URLSearchParams(trimmed.startsWith('?') ? trimmed.slice(1) : trimmed);
}

/** The `state` of a callback, to find its pending flow. */
export function callbackState(callback: string): string | undefined {
  try {
    return callbackParams(callback).get('state') ?? undefined;
  } catch {
    return undefined;
  }
}

export interface CallbackExpectation {
  provider: Provider;
  state: string;
}

/**
 * Checks a callback before any exchange, in this order: parseable; `error` → that code;
 * `state` present and equal (constant time); `iss` when the provider declares an issuer
 * (RFC 9207); `code` present. Returns the code or throws the OAuthError.
 */
export function checkCallback(callback: unknown, expected: CallbackExpectation): string {
  if (typeof callback !== 'string' || callback.trim() === '') {
    throw new OAuthError('invalid_callback', 'callback must be the callback URL or its query string', { field: 'callback.url' });
  }
  let params: URLSearchParams;
  try {
    params = callbackParams(callback);
  } catch {
    throw new OAuthError('invalid_callback', 'callback is not a valid URL', { field: 'callback.url' });
  }
  const error = params.get('error');
  if (error !== null) {
    const description = params.get('error_description') ?? undefined;
    throw new OAuthError(error, `authorization failed: ${error}${description ? `: ${description}` : ''}`, {
      ...(description === undefined ? {} : { description }),
      field: 'callback.error',
    });
  }
  const state = params.get('state');
  if (state === null || !timingSafeEqual(state, expected.state)) {
    throw new OAuthError('state_mismatch', state === null ? 'callback has no "state"' : 'callback "state" does not match this flow', {
      field: 'callback.state',
    });
  }
  const issuer = expected.provider.issuer;
  if (issuer !== undefined) {
    const iss = params.get('iss');
    if (iss === null || iss !== issuer) {
      throw new OAuthError('invalid_callback', iss === null ? `callback has no "iss" (expected ${issuer})` : `callback "iss" is ${iss}, expected ${issuer}`, {
        field: 'callback.iss',
      });
    }
  }
  const code = params.get('code');
  if (code === null || code === '') throw new OAuthError('invalid_callback', 'callback has no "code"', { field: 'callback.code' });
  return code;
}
