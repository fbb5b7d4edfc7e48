import { OAuthError } from '../errors.js';
import type { RawResponse } from '../provider/token-response.js';
import type { TokenRequest } from '../provider/token-request.js';
import type { Services } from './types.js';

/**
 * Sends a built request through the injected http service with a timeout, aborted when `signal`
 * aborts (the actor stopped or left the state). Transport failures become retryable
 * `network_error` / `timeout`; the answer is returned read but unjudged.
 */
export async function sendRequest(services: Services, request: TokenRequest, signal?: AbortSignal): Promise<RawResponse> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), services.timeoutMs);
  const onAbort = () => timeout.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const host = safeHost(request.url);
  // An http service that ignores the signal still cannot hang the flow: the race ends it.
  const aborted = new Promise<never>((_resolve, reject) => {
    timeout.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
  try {
    const response = await Promise.race([services.http(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: timeout.signal,
      redirect: 'manual',
    }), aborted]);
    const text = await Promise.race([response.text(), aborted]);
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (signal?.aborted) throw new OAuthError('cancelled', `request to ${host} was aborted`, { cause: error });
    if (timeout.signal.aborted) {
      throw new OAuthError('timeout', `no answer from ${host} within ${services.timeoutMs} ms`, { retryable: true, cause: error });
    }
    if (error instanceof OAuthError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new OAuthError('network_error', `request to ${host} failed: ${reason}`, { retryable: true, cause: error });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the token endpoint';
  }
}
