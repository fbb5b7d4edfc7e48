import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createOAuthClient, memoryStorage, OAuthError, type Storage } from '../../src/index.js';
import { euRouter, pathOfExile } from '../../src/providers/index.js';
import { fakeEuRouter, fakePathOfExile } from '../../src/testing/index.js';
import { check, runs, settlesWithin } from './support.js';

/**
 * Fault schedules over the facade with the fakes: storage that throws, is slow or returns junk;
 * HTTP that fails before the request left or after the server acted; clock jumps; double
 * submissions. Invariants: every call settles, with a result or an OAuthError; a code is
 * redeemed at most once; a credential that reached the client is returned or stored (never
 * lost); a TokenSet handed out always has a credential.
 */
type StorageOp = 'get' | 'set' | 'delete' | 'take' | 'setIfAbsent' | 'deleteIfEquals';
const storageFault = fc.record({
  op: fc.constantFrom<StorageOp>('get', 'set', 'delete', 'take', 'setIfAbsent', 'deleteIfEquals'),
  nth: fc.integer({ min: 1, max: 6 }),
  kind: fc.constantFrom('throw', 'slow', 'junk'),
  junk: fc.constantFrom('"str"', '[]', '{', 'null', '{"accessToken":""}', '{"version":1}', '42'),
});
const httpFault = fc.record({
  nth: fc.integer({ min: 1, max: 3 }),
  kind: fc.constantFrom('refused', 'resetAfterServerActed', 'timeoutAfterServerActed', 'html502', 'http429', 'http503RetryAfter'),
});
const schedule = fc.record({
  storage: fc.array(storageFault, { maxLength: 3 }),
  http: fc.array(httpFault, { maxLength: 2 }),
  doubleSubmit: fc.integer({ min: 1, max: 3 }),
  clockJumpMs: fc.constantFrom(0, 0, -3_600_000, 3_600_000, 30 * 24 * 3_600_000),
  provider: fc.constantFrom('eurouter', 'path-of-exile'),
});

function faultyStorage(inner: Storage, faults: Array<{ op: StorageOp; nth: number; kind: string; junk: string }>): Storage {
  const counts = new Map<StorageOp, number>();
  const wrap =
    <A extends unknown[], R>(op: StorageOp, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const n = (counts.get(op) ?? 0) + 1;
      counts.set(op, n);
      const fault = faults.find((f) => f.op === op && f.nth === n);
      if (fault?.kind === 'throw') throw new Error(`storage ${op} failed (fault)`);
      if (fault?.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, 5));
      const result = await call(...args);
      if (fault?.kind === 'junk' && (op === 'get' || op === 'take') && result !== undefined) return fault.junk as R;
      return result;
    };
  return {
    get: wrap('get', (k: string) => inner.get(k)),
    set: wrap('set', (k: string, v: string, o?: { ttlMs?: number }) => inner.set(k, v, o)),
    delete: wrap('delete', (k: string) => inner.delete(k)),
    take: wrap('take', (k: string) => inner.take!(k)),
    setIfAbsent: wrap('setIfAbsent', (k: string, v: string, t: number) => inner.setIfAbsent!(k, v, t)),
    deleteIfEquals: wrap('deleteIfEquals', (k: string, v: string) => inner.deleteIfEquals!(k, v)),
  };
}

describe('fault schedules over the facade', () => {
  it('every call settles; one redemption; no credential lost; no TokenSet without a credential', { timeout: 300_000 }, async () => {
    let runsDone = 0;
    await check(
      'fault schedules',
      fc.asyncProperty(schedule, async (plan) => {
        runsDone++;
        const redirectUri = 'http://localhost:3000/callback';
        const userAgent = 'OAuth app/1.0.0 (contact: dev@example.com)';
        const isPoe = plan.provider === 'path-of-exile';
        const fake = isPoe ? fakePathOfExile({ clients: [{ clientId: 'app', redirectUris: [redirectUri] }] }) : fakeEuRouter();
        let offset = 0;
        const clock = { now: () => Date.now() + offset };
        const received: string[] = [];
        let calls = 0;
        const http = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
          calls++;
          const fault = plan.http.find((f) => f.nth === calls);
          if (fault?.kind === 'refused') throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
          if (fault?.kind === 'http429') return new Response('slow down', { status: 429, headers: { 'retry-after': '0' } });
          if (fault?.kind === 'http503RetryAfter') return new Response('busy', { status: 503, headers: { 'retry-after': '0' } });
          const answer = await fake.fetch(url, init);
          // The server acted: it answered, but the answer never reaches the client.
          if (fault?.kind === 'resetAfterServerActed') throw new TypeError('fetch failed: socket hang up');
          if (fault?.kind === 'timeoutAfterServerActed') return new Promise<Response>(() => {});
          if (fault?.kind === 'html502') return new Response('<html>502</html>', { status: 502, headers: { 'content-type': 'text/html' } });
          const text = await answer.clone().text();
          try {
            const json = JSON.parse(text) as { key?: string; access_token?: string };
            if (answer.ok && (json.key ?? json.access_token)) received.push((json.key ?? json.access_token)!);
          } catch {
            // not JSON
          }
          return answer;
        };
        const inner = memoryStorage({ clock });
        const storage = faultyStorage(inner, plan.storage);
        const client = createOAuthClient({
          provider: isPoe ? pathOfExile : euRouter,
          clientId: 'app',
          redirectUri,
          ...(isPoe ? { userAgent } : {}),
          http,
          storage,
          clock,
          timeoutMs: 10,
          retry: { baseDelayMs: 0, maxDelayMs: 1, maxAttempts: 3 },
          lock: { ttlMs: 200, pollIntervalMs: 1 },
        });
        const returned: string[] = [];
        const settled = async <T>(work: () => Promise<T>, what: string): Promise<T | OAuthError> => {
          try {
            return await settlesWithin(work(), 5_000, what);
          } catch (error) {
            expect(error, `${what}: ${String(error)}`).toBeInstanceOf(OAuthError);
            return error as OAuthError;
          }
        };
        const started = await settled(() => client.startAuthorization(isPoe ? { scopes: ['account:profile'] } : {}), 'startAuthorization');
        if (started instanceof OAuthError) return;
        const callback = await fake.approve(started.url);
        offset += plan.clockJumpMs;
        const results = await Promise.all(Array.from({ length: plan.doubleSubmit }, () => settled(() => client.completeAuthorization(callback), 'completeAuthorization')));
        for (const result of results) if (!(result instanceof OAuthError)) returned.push(result.accessToken);
        expect(returned.length).toBeLessThanOrEqual(1);
        const code = new URL(callback).searchParams.get('code');
        const redemptions = fake.requests.filter((r) => r.body.code === code).length;
        expect(redemptions, 'the code was sent more than once').toBeLessThanOrEqual(1);
        const stored = await inner.get(`grantflow:${isPoe ? 'path-of-exile' : 'eurouter'}:app:tokens:default`);
        for (const credential of received) {
          expect(returned.includes(credential) || (stored ?? '').includes(credential), 'a credential that reached the client was neither returned nor stored').toBe(true);
        }
        const again = await settled(() => client.getAccessToken(), 'getAccessToken');
        if (!(again instanceof OAuthError)) {
          expect(typeof again.accessToken).toBe('string');
          expect(again.accessToken.length).toBeGreaterThan(0);
        }
      }),
      runs(5_000),
    );
    expect(runsDone).toBeGreaterThanOrEqual(runs(5_000));
  });
});
