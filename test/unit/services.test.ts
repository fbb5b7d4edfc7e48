import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OAuthError, toOAuthError } from '../../src/errors.js';
import { backoffDelay, canRetry, isSafeToRepeat } from '../../src/grants/retry.js';
import { tokenErrorFrom } from '../../src/provider/token-response.js';
import { genericOAuth2 } from '../../src/providers/index.js';
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
  it("a code the provider's data calls safe to repeat is judged by the code the server sent, known to grantflow or not", () => {
    const answer = (error: string) => ({ status: 400, headers: new Headers(), text: JSON.stringify({ error }) });
    const busy = genericOAuth2({ id: 'as', tokenEndpoint: 'https://as.example/t', retryableErrors: ['busy'] });
    const listed = tokenErrorFrom(busy, answer('busy'), 0);
    expect(listed).toMatchObject({ code: 'unknown_error', serverCode: 'busy', retryable: true });
    expect(isSafeToRepeat(busy, listed)).toBe(true);
    // "unknown_error" in the list names a server code "unknown_error", not every code grantflow does not know.
    const catchAll = genericOAuth2({ id: 'as', tokenEndpoint: 'https://as.example/t', retryableErrors: ['unknown_error'] });
    const other = tokenErrorFrom(catchAll, answer('whatever'), 0);
    expect(other).toMatchObject({ code: 'unknown_error', serverCode: 'whatever', retryable: false });
    expect(isSafeToRepeat(catchAll, other)).toBe(false);
    // A known code is judged as before.
    const poeLike = genericOAuth2({ id: 'as', tokenEndpoint: 'https://as.example/t', retryableErrors: ['server_error'] });
    expect(isSafeToRepeat(poeLike, tokenErrorFrom(poeLike, answer('server_error'), 0))).toBe(true);
    expect(isSafeToRepeat(poeLike, tokenErrorFrom(poeLike, answer('invalid_grant'), 0))).toBe(false);
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
    [{ maxResponseBytes: 0 }, 'services.maxResponseBytes'],
    [{ maxResponseBytes: -1 }, 'services.maxResponseBytes'],
    [{ maxResponseBytes: 1.5 }, 'services.maxResponseBytes'],
    [{ maxResponseBytes: Number.NaN }, 'services.maxResponseBytes'],
    [{ maxResponseBytes: Number.POSITIVE_INFINITY }, 'services.maxResponseBytes'],
    [{ maxResponseBytes: '1024' }, 'services.maxResponseBytes'],
    [{ retry: null }, 'services.retry'],
    [{ retry: 3 }, 'services.retry'],
    [{ retry: { maxAttempts: -1 } }, 'services.retry.maxAttempts'],
    [{ retry: { maxAttempts: 2.5 } }, 'services.retry.maxAttempts'],
    [{ retry: { maxAttempts: '3' } }, 'services.retry.maxAttempts'],
    [{ retry: { baseDelayMs: -1 } }, 'services.retry.baseDelayMs'],
    [{ retry: { baseDelayMs: Number.NaN } }, 'services.retry.baseDelayMs'],
    [{ retry: { maxDelayMs: Number.POSITIVE_INFINITY } }, 'services.retry.maxDelayMs'],
    [{ lock: null }, 'services.lock'],
    [{ lock: { ttlMs: 29 } }, 'services.lock.ttlMs'],
    [{ lock: { ttlMs: '5000' } }, 'services.lock.ttlMs'],
    [{ lock: { pollIntervalMs: 0 } }, 'services.lock.pollIntervalMs'],
    [{ lock: { maxWaitMs: -1 } }, 'services.lock.maxWaitMs'],
    [{ lock: { maxWaitMs: Number.NaN } }, 'services.lock.maxWaitMs'],
  ])('refuses %o naming %s', (options, field) => {
    expect(() => resolveServices(options as never)).toThrow(expect.objectContaining({ code: 'invalid_configuration', field }));
  });

  it('takes the edges of the retry and lock settings', () => {
    const services = resolveServices({ retry: { maxAttempts: 0, baseDelayMs: 0, maxDelayMs: 0 }, lock: { ttlMs: 30, pollIntervalMs: 1, maxWaitMs: 0 } });
    expect(services.retry).toEqual({ maxAttempts: 0, baseDelayMs: 0, maxDelayMs: 0 });
    expect(services.lock).toEqual({ ttlMs: 30, pollIntervalMs: 1, maxWaitMs: 0 });
  });
});

describe('resolveServices: maxResponseBytes', () => {
  it('defaults to 1 MiB and takes a positive integer', () => {
    expect(resolveServices().maxResponseBytes).toBe(1_048_576);
    expect(resolveServices({ maxResponseBytes: 1 }).maxResponseBytes).toBe(1);
    expect(resolveServices({ maxResponseBytes: 10_000_000 }).maxResponseBytes).toBe(10_000_000);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tokenRequest = { url: 'https://as.example/token', method: 'POST' as const, headers: {}, body: '' };
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(OAuthError);
      return e as OAuthError;
    },
  );

/** A body stream that records what was pulled from it and whether it was cancelled. */
function probe(next: (pulls: number) => Uint8Array | null | Promise<Uint8Array | null>, highWaterMark = 1) {
  const seen = { pulls: 0, bytes: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const chunk = await next(seen.pulls++);
        if (chunk === null) return controller.close();
        seen.bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel() {
        seen.cancelled = true;
      },
    },
    { highWaterMark },
  );
  return { stream, seen };
}

describe('sendRequest: bounded bodies', () => {
  it('reads a streamed body in chunks, decoding UTF-8 across chunk boundaries', async () => {
    const parts = [new TextEncoder().encode('{"a":"caf'), new Uint8Array([0xc3]), new Uint8Array([0xa9]), new TextEncoder().encode('"}')];
    const { stream, seen } = probe((i) => parts[i] ?? null);
    const services = resolveServices({ http: async () => new Response(stream, { status: 200 }) });
    const response = await sendRequest(services, tokenRequest);
    expect(response).toMatchObject({ status: 200, text: '{"a":"café"}' });
    expect(seen.cancelled).toBe(false);
  });
  it('a body of exactly maxResponseBytes is read; one byte more is invalid_response, not retryable', async () => {
    const ok = resolveServices({ http: async () => new Response('0123456789'), maxResponseBytes: 10 });
    expect((await sendRequest(ok, tokenRequest)).text).toBe('0123456789');
    const over = resolveServices({ http: async () => new Response('0123456789A', { status: 201 }), maxResponseBytes: 10 });
    const e = await failure(sendRequest(over, tokenRequest));
    expect(e).toMatchObject({ code: 'invalid_response', field: 'response.body', status: 201, retryable: false, requestSent: true });
    expect(e.message).toContain('10 bytes');
  });
  it('a 2 MiB body with the default cap is refused, and the stream is cancelled early', async () => {
    const chunk = 64 * 1024;
    const { stream, seen } = probe((i) => (i < 32 ? new Uint8Array(chunk).fill(0x61) : null));
    const services = resolveServices({ http: async () => new Response(stream, { status: 200 }) });
    const e = await failure(sendRequest(services, tokenRequest));
    expect(e).toMatchObject({ code: 'invalid_response', field: 'response.body', status: 200, retryable: false });
    expect(e.message).toContain('1048576');
    expect(seen.cancelled).toBe(true);
    // Reading stopped at the first chunk past the cap (a chunk or two may be queued ahead).
    expect(seen.bytes).toBeGreaterThan(1_048_576);
    expect(seen.bytes).toBeLessThanOrEqual(1_048_576 + 3 * chunk);
    const pulled = seen.pulls;
    await sleep(20);
    expect(seen.pulls).toBe(pulled);
  });
  it('a Content-Length above the cap is refused at once, without reading the body', async () => {
    const { stream, seen } = probe((i) => (i < 4 ? new Uint8Array(1024) : null), 0);
    const services = resolveServices({ http: async () => new Response(stream, { status: 200, headers: { 'content-length': '999999999' } }) });
    const e = await failure(sendRequest(services, tokenRequest));
    expect(e).toMatchObject({ code: 'invalid_response', field: 'response.body', status: 200, retryable: false });
    expect(seen.pulls).toBe(0);
    expect(seen.bytes).toBe(0);
    expect(seen.cancelled).toBe(true);
  });
  it('a Content-Length within the cap is read as usual', async () => {
    const services = resolveServices({ http: async () => new Response('{"ok":1}', { headers: { 'content-length': '8' } }), maxResponseBytes: 8 });
    expect((await sendRequest(services, tokenRequest)).text).toBe('{"ok":1}');
  });
  it('invalid UTF-8 is invalid_response on response.body', async () => {
    for (const bytes of [[0x7b, 0xff, 0xfe, 0x7d], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
      const services = resolveServices({ http: async () => new Response(new Uint8Array(bytes), { status: 400 }) });
      const e = await failure(sendRequest(services, tokenRequest));
      expect(e, String(bytes)).toMatchObject({ code: 'invalid_response', field: 'response.body', status: 400, retryable: false });
    }
  });
  it('a chunk that is not bytes is invalid_response', async () => {
    const stream = new ReadableStream({ start: (c) => c.enqueue('text') });
    const services = resolveServices({ http: async () => ({ status: 200, headers: new Headers(), body: stream, bodyUsed: false }) as unknown as Response });
    expect(await failure(sendRequest(services, tokenRequest))).toMatchObject({ code: 'invalid_response', field: 'response.body' });
  });
  it('without a body stream, text() is read, within the cap', async () => {
    const empty = resolveServices({ http: async () => new Response(null, { status: 204 }) });
    expect(await sendRequest(empty, tokenRequest)).toMatchObject({ status: 204, text: '' });
    const textOnly = (text: string) => async () => ({ status: 200, headers: new Headers(), body: null, bodyUsed: false, text: async () => text }) as unknown as Response;
    expect((await sendRequest(resolveServices({ http: textOnly('{"a":1}') }), tokenRequest)).text).toBe('{"a":1}');
    const e = await failure(sendRequest(resolveServices({ http: textOnly('é'.repeat(6)), maxResponseBytes: 11 }), tokenRequest));
    expect(e).toMatchObject({ code: 'invalid_response', field: 'response.body', status: 200 });
  });
});

describe('sendRequest: the timeout covers the body', () => {
  it('an endless body that trickles in forever ends with timeout, and its reader is cancelled', async () => {
    const { stream, seen } = probe(async () => {
      await sleep(5);
      return new Uint8Array([0x20]);
    });
    // The http service ignores the signal, and so does its body stream.
    const services = resolveServices({ http: async () => new Response(stream, { status: 200 }), timeoutMs: 50 });
    const started = Date.now();
    const e = await failure(sendRequest(services, tokenRequest));
    expect(e).toMatchObject({ code: 'timeout', retryable: true, requestSent: true });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(seen.cancelled).toBe(true);
    const pulled = seen.pulls;
    await sleep(40);
    expect(seen.pulls).toBeLessThanOrEqual(pulled + 1);
  });
  it('a body stream that never sends anything ends with timeout too', async () => {
    const { stream, seen } = probe(() => new Promise<never>(() => {}));
    const services = resolveServices({ http: async () => new Response(stream), timeoutMs: 50 });
    expect(await failure(sendRequest(services, tokenRequest))).toMatchObject({ code: 'timeout' });
    expect(seen.cancelled).toBe(true);
  });
  it('the caller aborting while the body is read is cancelled, and the reader is cancelled', async () => {
    const controller = new AbortController();
    const { stream, seen } = probe(() => new Promise<never>(() => {}));
    const services = resolveServices({ http: async () => new Response(stream) });
    const sent = sendRequest(services, tokenRequest, controller.signal);
    await sleep(10);
    controller.abort();
    expect(await failure(sent)).toMatchObject({ code: 'cancelled', retryable: false, requestSent: true });
    expect(seen.cancelled).toBe(true);
  });
  it('a signal aborted before the call sends nothing', async () => {
    let calls = 0;
    const services = resolveServices({ http: async () => (calls++, new Response('{}')) });
    expect(await failure(sendRequest(services, tokenRequest, AbortSignal.abort()))).toMatchObject({ code: 'cancelled', requestSent: false });
    expect(calls).toBe(0);
  });
  it('no timer or listener outlives the call, whichever way it ends', async () => {
    const outcomes = [
      async () => new Response('{}'),
      async () => new Response('x'.repeat(20)),
      async () => new Response(new Uint8Array([0xff])),
      async () => Promise.reject(new TypeError('fetch failed')),
    ];
    for (const outcome of outcomes) {
      const controller = new AbortController();
      const added: unknown[] = [];
      const removed: unknown[] = [];
      const add = controller.signal.addEventListener.bind(controller.signal);
      const remove = controller.signal.removeEventListener.bind(controller.signal);
      controller.signal.addEventListener = ((type: string, listener: EventListener, options?: AddEventListenerOptions) => (added.push(listener), add(type, listener, options))) as never;
      controller.signal.removeEventListener = ((type: string, listener: EventListener) => (removed.push(listener), remove(type, listener))) as never;
      let seenSignal: AbortSignal | undefined;
      const services = resolveServices({
        http: (_url, init) => {
          seenSignal = init?.signal ?? undefined;
          return outcome();
        },
        timeoutMs: 20,
        maxResponseBytes: 10,
      });
      await sendRequest(services, tokenRequest, controller.signal).catch(() => undefined);
      expect(removed).toEqual(added);
      await sleep(40);
      // The timer was cleared: the request's own signal never fired after the call settled.
      expect(seenSignal?.aborted).toBe(false);
    }
  });
});

describe('sendRequest: requestSent', () => {
  const networkError = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code }) });
  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_INVALID_URL', 'UND_ERR_CONNECT_TIMEOUT'])(
    'fetch failed with cause %s: the request never left, requestSent false (still a retryable network_error)',
    async (code) => {
      const services = resolveServices({ http: async () => Promise.reject(networkError(code)) });
      expect(await failure(sendRequest(services, tokenRequest))).toMatchObject({ code: 'network_error', retryable: true, requestSent: false });
    },
  );
  it('the code on the error itself counts too; so does a TypeError for an invalid URL', async () => {
    const direct = resolveServices({ http: async () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND as.example'), { code: 'ENOTFOUND' })) });
    expect(await failure(sendRequest(direct, tokenRequest))).toMatchObject({ requestSent: false });
    const badUrl = resolveServices({ http: async () => Promise.reject(new TypeError('Failed to parse URL from ht!tp://x')) });
    expect(await failure(sendRequest(badUrl, tokenRequest))).toMatchObject({ code: 'network_error', requestSent: false });
    const invalid = resolveServices({ http: async () => Promise.reject(new TypeError('Invalid URL')) });
    expect(await failure(sendRequest(invalid, tokenRequest))).toMatchObject({ requestSent: false });
  });
  it('with the real fetch, an unparseable URL and a refused connection are requestSent false', async () => {
    const services = resolveServices({ timeoutMs: 5000 });
    expect(await failure(sendRequest(services, { ...tokenRequest, url: 'http://exa mple/' }))).toMatchObject({ requestSent: false });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await failure(sendRequest(services, { ...tokenRequest, url: `http://127.0.0.1:${port}/token` }))).toMatchObject({ code: 'network_error', requestSent: false });
  });
  it.each([
    ['a reset', () => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) })],
    ['fetch failed without a cause', () => new TypeError('fetch failed')],
    ['a code two levels down', () => Object.assign(new TypeError('fetch failed'), { cause: new Error('x', { cause: Object.assign(new Error('y'), { code: 'ECONNREFUSED' }) }) })],
    ['an unknown error', () => new Error('boom')],
  ])('%s may have reached the server: requestSent true', async (_what, make) => {
    const services = resolveServices({ http: async () => Promise.reject(make()) });
    expect(await failure(sendRequest(services, tokenRequest))).toMatchObject({ code: 'network_error', retryable: true, requestSent: true });
  });
  it('a timeout is requestSent true', async () => {
    const services = resolveServices({ http: () => new Promise<Response>(() => {}), timeoutMs: 20 });
    expect(await failure(sendRequest(services, tokenRequest))).toMatchObject({ code: 'timeout', retryable: true, requestSent: true });
  });
  it('a body that fails half way (an aborted body) is requestSent true', async () => {
    let sent = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.error(Object.assign(new TypeError('terminated'), { cause: Object.assign(new Error('other side closed'), { code: 'ECONNREFUSED' }) }));
        sent = true;
        controller.enqueue(new Uint8Array([0x7b]));
      },
    });
    const services = resolveServices({ http: async () => new Response(stream) });
    expect(await failure(sendRequest(services, tokenRequest))).toMatchObject({ code: 'network_error', retryable: true, requestSent: true });
  });
  it('an answer, even a 5xx, is returned unjudged', async () => {
    const services = resolveServices({ http: async () => new Response('oops', { status: 503 }) });
    expect(await sendRequest(services, tokenRequest)).toMatchObject({ status: 503, text: 'oops' });
  });
});

describe('OAuthError.requestSent', () => {
  it('is in toJSON when defined, and round-trips', () => {
    const notSent = new OAuthError('network_error', 'x', { retryable: true, requestSent: false });
    expect(notSent.requestSent).toBe(false);
    expect(notSent.toJSON()).toMatchObject({ requestSent: false });
    expect(OAuthError.fromJSON(JSON.parse(JSON.stringify(notSent))).requestSent).toBe(false);
    expect(new OAuthError('timeout', 'x', { requestSent: true }).toJSON().requestSent).toBe(true);
    const plain = new OAuthError('invalid_grant', 'x');
    expect(plain.requestSent).toBeUndefined();
    expect(plain.toJSON()).not.toHaveProperty('requestSent');
  });
});

describe('sendRequest over a real socket', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });
  it('a server that sends headers and never ends the body: timeout within ~1 s, with the real fetch', async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":');
      // …and never res.end().
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const services = resolveServices({ timeoutMs: 200 });
    const started = Date.now();
    const e = await failure(sendRequest(services, { ...tokenRequest, url: `http://127.0.0.1:${port}/token` }));
    const elapsed = Date.now() - started;
    expect(e).toMatchObject({ code: 'timeout', retryable: true, requestSent: true });
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(1000);
  });
});

describe('cryptoRandom', () => {
  it('hands out fresh bytes of the length asked, never the same twice, across pool refills and large requests', async () => {
    const { cryptoRandom } = await import('../../src/services/defaults.js');
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const size = [8, 16, 32, 2_000][i % 4]!;
      const bytes = cryptoRandom(size);
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(bytes.length).toBe(size);
      const hex = Buffer.from(bytes).toString('hex');
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
    // Not all zero (the pool is zeroed behind what it hands out, never before).
    expect(cryptoRandom(32).some((b) => b !== 0)).toBe(true);
  });
});
