import { OAuthError } from '../errors.js';
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
