import type { TokenSet } from '../tokens.js';

/** 60 s before expiry a token counts as expired: it is refreshed before it fails a request. */
export const DEFAULT_REFRESH_WINDOW_MS = 60_000;

/** At most this share of a token's lifetime is spent in its refresh window. */
export const REFRESH_WINDOW_LIFETIME_SHARE = 0.25;

/**
 * How long before its expiry a token is refreshed: the configured window, but at most a quarter
 * of the token's lifetime, so a short token (10 s) is used for most of its life instead of being
 * refreshed on every call. A set without `issuedAt` (stored by an older version) uses the window.
 */
export function refreshWindowOf(tokens: TokenSet, configuredMs: number = DEFAULT_REFRESH_WINDOW_MS): number {
  if (tokens.expiresAt === undefined || tokens.issuedAt === undefined || tokens.expiresAt < tokens.issuedAt) return configuredMs;
  return Math.min(configuredMs, (tokens.expiresAt - tokens.issuedAt) * REFRESH_WINDOW_LIFETIME_SHARE);
}

/** Whether a token is still fresh at `now`: it does not expire, or its refresh window has not begun. */
export function isFreshAt(tokens: TokenSet, now: number, configuredMs?: number): boolean {
  return tokens.expiresAt === undefined || tokens.expiresAt - now > refreshWindowOf(tokens, configuredMs);
}
