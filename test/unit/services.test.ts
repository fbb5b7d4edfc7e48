import { describe, expect, it } from 'vitest';
import { OAuthError, toOAuthError } from '../../src/errors.js';
import { backoffDelay, canRetry } from '../../src/grants/retry.js';
import { resolveServices } from '../../src/services/defaults.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import { sendRequest } from '../../src/services/send.js';
import type { Storage } from '../../src/services/types.js';
import { webStorage } from '../../src/services/web-storage.js';

function mapStore() {
  const map = new Map<string, string>();
  return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k), map };
}

describe.each([
  ['memoryStorage', (clock: { now(): number }) => memoryStorage({ clock })],
  ['webStorage', (clock: { now(): number }) => webStorage(mapStore(), { clock })],
] as const)('%s', (_name, make) => {
  it('gets, sets, deletes; honours ttl; setIfAbsent only sets once until expiry', async () => {
    let now = 0;
    const storage: Storage = make({ now: () => now });
    expect(await storage.get('k')).toBeUndefined();
    await storage.set('k', 'v');
    expect(await storage.get('k')).toBe('v');
    await storage.delete('k');
    expect(await storage.get('k')).toBeUndefined();
    await storage.set('t', 'v', { ttlMs: 100 });
    now = 99;
    expect(await storage.get('t')).toBe('v');
    now = 100;
    expect(await storage.get('t')).toBeUndefined();
    expect(await storage.setIfAbsent!('lock', 'a', 50)).toBe(true);
    expect(await storage.setIfAbsent!('lock', 'b', 50)).toBe(false);
    expect(await storage.get('lock')).toBe('a');
    now = 200;
    expect(await storage.setIfAbsent!('lock', 'c', 50)).toBe(true);
  });
});

describe('retry', () => {
  const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };
  const ones = (n: number) => new Uint8Array(n).fill(255);
  const zeros = (n: number) => new Uint8Array(n);
  it('backs off exponentially with full jitter, capped', () => {
    expect(backoffDelay(0, policy, zeros)).toBe(0);
    expect(backoffDelay(0, policy, ones)).toBeLessThanOrEqual(100);
    expect(backoffDelay(0, policy, ones)).toBeGreaterThan(99);
    expect(backoffDelay(3, policy, ones)).toBeLessThanOrEqual(800);
    expect(backoffDelay(10, policy, ones)).toBe(1000);
  });
  it('Retry-After is a floor, within the cap', () => {
    expect(backoffDelay(0, policy, zeros, 500)).toBe(500);
    expect(backoffDelay(0, policy, zeros, 60_000)).toBe(1000);
  });
  it('retries only retryable OAuthErrors, and only while attempts remain', () => {
    const transient = new OAuthError('server_error', 'x', { retryable: true });
    expect(canRetry(transient, 1, policy)).toBe(true);
    expect(canRetry(transient, 4, policy)).toBe(false);
    expect(canRetry(new OAuthError('invalid_grant', 'x'), 1, policy)).toBe(false);
    expect(canRetry(new Error('x'), 1, policy)).toBe(false);
  });
});

describe('sendRequest', () => {
  const request = { url: 'https://as.example/token', method: 'POST' as const, headers: {}, body: '' };
  it('times out even when the http service ignores the signal', async () => {
    const services = resolveServices({ http: () => new Promise<Response>(() => {}), timeoutMs: 20 });
    await expect(sendRequest(services, request)).rejects.toMatchObject({ code: 'timeout', retryable: true });
  });
  it('a transport failure is a retryable network_error that names the host only', async () => {
    const services = resolveServices({ http: async () => Promise.reject(new TypeError('fetch failed')) });
    const error = await sendRequest(services, { ...request, body: 'client_secret=hush' }).catch((e: unknown) => e as OAuthError);
    expect(error).toMatchObject({ code: 'network_error', retryable: true });
    expect((error as OAuthError).message).toContain('as.example');
    expect((error as OAuthError).message).not.toContain('hush');
  });
  it('the caller aborting is cancelled, not retried', async () => {
    const controller = new AbortController();
    const services = resolveServices({ http: (_u, init) => new Promise<Response>((_r, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted')))) });
    const sent = sendRequest(services, request, controller.signal);
    controller.abort();
    await expect(sent).rejects.toMatchObject({ code: 'cancelled', retryable: false });
  });
});

describe('OAuthError', () => {
  it('round-trips through JSON', () => {
    const error = new OAuthError('invalid_grant', 'bad code', { status: 400, description: 'd', field: 'code', retryAfterMs: 5 });
    const copy = OAuthError.fromJSON(JSON.parse(JSON.stringify(error)));
    expect(copy).toBeInstanceOf(OAuthError);
    expect(copy.toJSON()).toEqual(error.toJSON());
  });
  it('toOAuthError keeps OAuthErrors and wraps anything else', () => {
    const error = new OAuthError('timeout', 'x');
    expect(toOAuthError(error)).toBe(error);
    expect(toOAuthError(error.toJSON())).toBeInstanceOf(OAuthError);
    expect(toOAuthError(new Error('boom'), 'network_error')).toMatchObject({ code: 'network_error', message: 'boom' });
  });
});

describe('resolveServices', () => {
  it.each([
    [{ http: 'fetch' }, 'services.http'],
    [{ storage: { get() {} } }, 'services.storage'],
    [{ clock: {} }, 'services.clock'],
    [{ random: 4 }, 'services.random'],
    [{ timeoutMs: -1 }, 'services.timeoutMs'],
  ])('refuses %o naming %s', (options, field) => {
    expect(() => resolveServices(options as never)).toThrow(expect.objectContaining({ code: 'invalid_configuration', field }));
  });
});
