import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/errors.js';
import { backoffDelay, canRetry, isSafeToRepeat, notRepeated } from '../../src/grants/retry.js';
import { genericOAuth2, poe } from '../../src/providers/index.js';

const bytes =
  (...values: number[]) =>
  (size: number) => {
    expect(size).toBe(4);
    return Uint8Array.from(values);
  };

describe('backoffDelay', () => {
  // A ceiling of 2^32 ms makes the delay the random 32-bit number itself.
  const wide = { maxAttempts: 4, baseDelayMs: 2 ** 32, maxDelayMs: 2 ** 40 };

  it('reads four random bytes as one big-endian unsigned 32-bit fraction', () => {
    expect(backoffDelay(0, wide, bytes(1, 2, 3, 4))).toBe(0x01020304);
    expect(backoffDelay(0, wide, bytes(0xff, 0xff, 0xff, 0xff))).toBe(0xffffffff);
    expect(backoffDelay(0, wide, bytes(0x80, 0, 0, 0))).toBe(0x80000000);
    expect(backoffDelay(0, wide, bytes(0, 0, 0, 0))).toBe(0);
  });

  it('the ceiling doubles with each retry made, up to maxDelayMs; the delay is the ceiling times the fraction, rounded', () => {
    const policy = { maxAttempts: 9, baseDelayMs: 100, maxDelayMs: 1_000 };
    const half = bytes(0x80, 0, 0, 0);
    expect(backoffDelay(0, policy, half)).toBe(50);
    expect(backoffDelay(1, policy, half)).toBe(100);
    expect(backoffDelay(2, policy, half)).toBe(200);
    expect(backoffDelay(3, policy, half)).toBe(400);
    expect(backoffDelay(4, policy, half)).toBe(500); // 1600 capped to 1000, halved
    expect(backoffDelay(1, wide, bytes(1, 2, 3, 4))).toBe(2 * 0x01020304);
    // 0.75 * 3 = 2.25 → 2; 0.875 * 3 = 2.625 → 3
    const tiny = { maxAttempts: 2, baseDelayMs: 3, maxDelayMs: 100 };
    expect(backoffDelay(0, tiny, bytes(0xc0, 0, 0, 0))).toBe(2);
    expect(backoffDelay(0, tiny, bytes(0xe0, 0, 0, 0))).toBe(3);
  });

  it('Retry-After is a floor, itself capped at maxDelayMs', () => {
    const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };
    const half = bytes(0x80, 0, 0, 0);
    expect(backoffDelay(2, policy, half, 150)).toBe(200); // the jittered delay is longer
    expect(backoffDelay(2, policy, half, 250)).toBe(250);
    expect(backoffDelay(2, policy, half, 1_001)).toBe(1_000);
    expect(backoffDelay(2, policy, half, undefined)).toBe(200);
    expect(backoffDelay(2, policy, half, 0)).toBe(200);
  });
});

describe('canRetry', () => {
  const policy = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 };
  const transient = new OAuthError('network_error', 'x', { retryable: true });

  it('a retryable OAuthError while attempts are left', () => {
    expect(canRetry(transient, 0, policy)).toBe(true);
    expect(canRetry(transient, 2, policy)).toBe(true);
    expect(canRetry(transient, 3, policy)).toBe(false);
    expect(canRetry(new OAuthError('network_error', 'x', { retryable: false }), 0, policy)).toBe(false);
    expect(canRetry(Object.assign(new Error('x'), { retryable: true }), 0, policy)).toBe(false);
    expect(canRetry(undefined, 0, policy)).toBe(false);
  });
});

describe('isSafeToRepeat', () => {
  const generic = genericOAuth2({ tokenEndpoint: 'https://as.example/token', retryableErrors: [] });
  const error = (code: string, options: ConstructorParameters<typeof OAuthError>[2] = {}) => new OAuthError(code, 'x', options);

  it('anything but an OAuthError: no', () => {
    expect(isSafeToRepeat(generic, new Error('x'))).toBe(false);
    expect(isSafeToRepeat(generic, { requestSent: false, status: 429 })).toBe(false);
  });

  it('a request that provably never reached the server: yes; one that may have: no', () => {
    expect(isSafeToRepeat(generic, error('network_error', { requestSent: false, retryable: true }))).toBe(true);
    expect(isSafeToRepeat(generic, error('network_error', { requestSent: true, retryable: true }))).toBe(false);
    expect(isSafeToRepeat(generic, error('timeout', { retryable: true }))).toBe(false);
  });

  it('429 always; 503 only with Retry-After; another 5xx: no', () => {
    expect(isSafeToRepeat(generic, error('invalid_response', { status: 429 }))).toBe(true);
    expect(isSafeToRepeat(generic, error('temporarily_unavailable', { status: 503, retryAfterMs: 1_000 }))).toBe(true);
    expect(isSafeToRepeat(generic, error('temporarily_unavailable', { status: 503, retryAfterMs: 0 }))).toBe(true);
    expect(isSafeToRepeat(generic, error('temporarily_unavailable', { status: 503 }))).toBe(false);
    expect(isSafeToRepeat(generic, error('temporarily_unavailable', { status: 502, retryAfterMs: 1_000 }))).toBe(false);
    expect(isSafeToRepeat(generic, error('server_error', { status: 500 }))).toBe(false);
  });

  it('an answered error the provider’s data calls safe (Poe’s server_error): yes; without an answer: no', () => {
    expect(isSafeToRepeat(poe, error('server_error', { status: 500 }))).toBe(true);
    expect(isSafeToRepeat(poe, error('server_error', { status: 400 }))).toBe(true);
    expect(isSafeToRepeat(poe, error('server_error'))).toBe(false);
    expect(isSafeToRepeat(poe, error('temporarily_unavailable', { status: 500 }))).toBe(false);
    expect(isSafeToRepeat(poe, error('invalid_grant', { status: 400 }))).toBe(false);
  });
});

describe('notRepeated', () => {
  it('a non-retryable error is returned as it is', () => {
    const error = new OAuthError('invalid_grant', 'refused', { status: 400 });
    expect(notRepeated(error, 'why')).toBe(error);
  });

  it('a retryable one becomes non-retryable, says why, and keeps its fields and cause', () => {
    const error = new OAuthError('weird_code', 'the server answered weird_code', {
      status: 500,
      description: 'oops',
      field: 'response.body.error',
      requestSent: true,
      retryable: true,
      retryAfterMs: 3_000,
    });
    const result = notRepeated(error, 'a code is sent once');
    expect(result).toBeInstanceOf(OAuthError);
    expect(result).not.toBe(error);
    expect(result.message).toBe('the server answered weird_code; not retried: a code is sent once');
    expect(result.toJSON()).toEqual({
      name: 'OAuthError',
      code: 'unknown_error',
      serverCode: 'weird_code',
      message: 'the server answered weird_code; not retried: a code is sent once',
      retryable: false,
      status: 500,
      description: 'oops',
      field: 'response.body.error',
      requestSent: true,
    });
    expect(result.cause).toBe(error);
  });

  it('requestSent false is kept; absent fields stay absent', () => {
    const result = notRepeated(new OAuthError('network_error', 'refused', { retryable: true, requestSent: false }), 'w');
    expect(result.toJSON()).toEqual({ name: 'OAuthError', code: 'network_error', message: 'refused; not retried: w', retryable: false, requestSent: false });
  });
});
