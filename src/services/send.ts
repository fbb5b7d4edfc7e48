import { OAuthError } from '../errors.js';
import type { RawResponse } from '../provider/token-response.js';
import type { TokenRequest } from '../provider/token-request.js';
import type { Services } from './types.js';

/**
 * Error codes that prove a request never left this machine: no connection was made (refused,
 * unknown host, no route) or the URL was never usable. Read from the error and its `cause`
 * (undici's `TypeError: fetch failed` carries the system error there).
 */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_INVALID_URL', 'UND_ERR_CONNECT_TIMEOUT']);
const INVALID_URL_MESSAGE = /invalid url|failed to parse url|not a valid url|url is not valid/i;

/**
 * Sends a built request through the injected http service with a timeout, aborted when `signal`
 * aborts (the actor stopped or left the state). The timeout covers the body as well as the
 * headers, and the body is read only up to `services.maxResponseBytes`. Transport failures
 * become retryable `network_error` / `timeout`, with `requestSent: false` only when the request
 * provably never reached the server; the answer is returned read but unjudged.
 */
export async function sendRequest(services: Services, request: TokenRequest, signal?: AbortSignal): Promise<RawResponse> {
  const host = safeHost(request.url);
  if (signal?.aborted) throw new OAuthError('cancelled', `request to ${host} was aborted before it was sent`, { requestSent: false, cause: signal.reason });

  const { timeoutMs, maxResponseBytes } = services;
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  const onAbort = () => timeout.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  // An http service (or a body stream) that ignores the signal still cannot hang the flow: the race ends it.
  let onTimeout: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onTimeout = () => reject(new Error('aborted'));
    timeout.signal.addEventListener('abort', onTimeout, { once: true });
  });
  aborted.catch(() => {});

  let response: Response | undefined;
  let reader: ReadableStreamDefaultReader<unknown> | undefined;
  let finished = false;
  try {
    response = await Promise.race([services.http(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: timeout.signal,
      redirect: 'manual',
    }), aborted]);
    const { status } = response;
    const tooLarge = () =>
      new OAuthError('invalid_response', `response from ${host} (HTTP ${status}) is larger than ${maxResponseBytes} bytes, the maxResponseBytes cap`, {
        status,
        field: 'response.body',
        retryable: false,
        requestSent: true,
      });

    const declared = response.headers.get('content-length');
    if (declared !== null && /^\s*\d+\s*$/.test(declared) && Number(declared) > maxResponseBytes) throw tooLarge();

    let text: string;
    const body = response.body as ReadableStream<unknown> | null | undefined;
    if (body === null || body === undefined) {
      text = await Promise.race([response.text(), aborted]);
      if (new TextEncoder().encode(text).byteLength > maxResponseBytes) throw tooLarge();
    } else {
      reader = body.getReader();
      const chunks: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        const { done, value } = await Promise.race([reader.read(), aborted]);
        if (done) break;
        if (!ArrayBuffer.isView(value)) {
          throw new OAuthError('invalid_response', `response body from ${host} (HTTP ${status}) is not a stream of bytes`, { status, field: 'response.body', requestSent: true });
        }
        total += value.byteLength;
        if (total > maxResponseBytes) throw tooLarge();
        chunks.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      }
      finished = true;
      text = decodeUtf8(concat(chunks, total), host, status);
    }
    return { status, headers: response.headers, text };
  } catch (error) {
    const requestSent = response !== undefined || !provablyNotSent(error);
    if (signal?.aborted) throw new OAuthError('cancelled', `request to ${host} was aborted`, { requestSent, cause: error });
    if (timeout.signal.aborted) {
      const stage = response === undefined ? 'no answer' : 'no complete answer';
      throw new OAuthError('timeout', `${stage} from ${host} within ${timeoutMs} ms`, { retryable: true, requestSent: true, cause: error });
    }
    if (error instanceof OAuthError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    const what = response === undefined ? 'request to' : 'reading the response from';
    throw new OAuthError('network_error', `${what} ${host} failed: ${reason}`, { retryable: true, requestSent, cause: error });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (onTimeout) timeout.signal.removeEventListener('abort', onTimeout);
    // Nothing keeps reading after the call settled: an unread or unfinished body is cancelled.
    if (reader !== undefined && !finished) reader.cancel().catch(() => {});
    else if (reader === undefined && response?.body && !response.bodyUsed) response.body.cancel().catch(() => {});
  }
}

/** Whether a failure of the http call itself proves that the request never reached the server. */
function provablyNotSent(error: unknown): boolean {
  const cause = isObject(error) ? error.cause : undefined;
  for (const candidate of [error, cause]) {
    if (isObject(candidate) && typeof candidate.code === 'string' && NOT_SENT_CODES.has(candidate.code)) return true;
  }
  return error instanceof TypeError && INVALID_URL_MESSAGE.test(error.message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function decodeUtf8(bytes: Uint8Array, host: string, status: number): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new OAuthError('invalid_response', `response body from ${host} (HTTP ${status}) is not valid UTF-8`, {
      status,
      field: 'response.body',
      requestSent: true,
      cause: error,
    });
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the token endpoint';
  }
}
