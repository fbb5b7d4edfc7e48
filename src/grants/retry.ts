import { OAuthError } from '../errors.js';
import type { Provider } from '../provider/schema.js';
import type { Random, RetryPolicy } from '../services/types.js';

/**
 * Capped exponential backoff with full jitter; a server's Retry-After is a floor (up to the cap).
 * `attempt` counts the retries already made: 0 before the first retry.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: Random, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  const jitter = randomFraction(random);
  const delay = Math.round(ceiling * jitter);
  return Math.min(policy.maxDelayMs, Math.max(delay, retryAfterMs ?? 0));
}

function randomFraction(random: Random): number {
  const bytes = random(4);
  return (((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0) / 2 ** 32;
}

/** Whether a failed attempt may be repeated: a transient error, and attempts left. */
export function canRetry(error: unknown, attemptsMade: number, policy: RetryPolicy): boolean {
  return error instanceof OAuthError && error.retryable && attemptsMade < policy.maxAttempts;
}

/**
 * Whether a request that must not be processed twice — a code exchange, a refresh with a
 * single-use refresh token — may be sent again after this failure: only when it cannot have been
 * processed (it never reached the server; 429, or 503 with Retry-After, say "not processed"), or
 * when the provider's data says the error is safe to repeat (`token.retryableErrors`, Poe's
 * `server_error`). A timeout, a reset after sending or another 5xx may have been processed.
 */
export function isSafeToRepeat(provider: Provider, error: unknown): boolean {
  if (!(error instanceof OAuthError)) return false;
  if (error.requestSent === false) return true;
  if (error.status === 429) return true;
  if (error.status === 503 && error.retryAfterMs !== undefined) return true;
  // The provider's list names codes as its server sends them: a code grantflow does not know is
  // `unknown_error` with the code in serverCode, as tokenErrorFrom judged it.
  return error.status !== undefined && provider.token.retryableErrors.includes(error.serverCode ?? error.code);
}

/** The error of a request not repeated because it may have been processed: no longer retryable, and says why. */
export function notRepeated(error: OAuthError, why: string): OAuthError {
  if (!error.retryable) return error;
  return new OAuthError(error.code, `${error.message}; not retried: ${why}`, {
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.description === undefined ? {} : { description: error.description }),
    ...(error.field === undefined ? {} : { field: error.field }),
    ...(error.requestSent === undefined ? {} : { requestSent: error.requestSent }),
    ...(error.serverCode === undefined ? {} : { serverCode: error.serverCode }),
    retryable: false,
    cause: error,
  });
}
