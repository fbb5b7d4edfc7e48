import { OAuthError } from '../errors.js';
import type { Provider } from '../provider/schema.js';
import type { ClientConfig } from '../secrets.js';
import type { Services } from '../services/types.js';
import type { TokenSet } from '../tokens.js';
import { grantSession } from './session.js';

export interface ResourceRequest {
  method: string;
  url: string;
}

/**
 * The headers that present `tokens` on one request to a resource server: `Authorization: Bearer`,
 * or for a DPoP-bound token `Authorization: DPoP` with a proof made for this method and URL
 * (RFC 9449 §7), hashed to the token (`ath`) and carrying the server's latest nonce.
 */
export async function authorizationHeaders(
  services: Services,
  provider: Provider,
  client: ClientConfig,
  tokens: TokenSet,
  request: ResourceRequest,
): Promise<Record<string, string>> {
  if (!isDpopBound(tokens)) return { authorization: `Bearer ${tokens.accessToken}` };
  if (!provider.dpop) {
    throw new OAuthError('invalid_configuration', `the token is DPoP-bound but provider "${provider.id}" has no dpop data`, { field: 'provider.dpop' });
  }
  const dpop = await grantSession(services).dpop();
  const nonce = dpop.nonces.get(request.url);
  const proof = await dpop.proof(await dpop.keyPair(provider, client), {
    method: request.method,
    url: request.url,
    accessToken: tokens.accessToken,
    now: services.clock.now(),
    random: services.random,
    ...(nonce === undefined ? {} : { nonce }),
  });
  return { authorization: `DPoP ${tokens.accessToken}`, dpop: proof };
}

export const isDpopBound = (tokens: TokenSet) => tokens.tokenType.toLowerCase() === 'dpop';

/**
 * Sends a request to a resource server with the token presented (authorizationHeaders). A DPoP
 * `use_dpop_nonce` challenge (RFC 9449 §9) is answered once with the nonce the server gave, when
 * the body can be sent again (a string, bytes, a Blob, URLSearchParams or FormData; not a stream).
 */
export async function fetchWithTokens(
  services: Services,
  provider: Provider,
  client: ClientConfig,
  tokens: TokenSet,
  url: string,
  init: RequestInit = {},
): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const send = async () => {
    const headers = new Headers(init.headers);
    for (const [name, value] of Object.entries(await authorizationHeaders(services, provider, client, tokens, { method, url }))) headers.set(name, value);
    const response = await services.http(url, { ...init, method, headers });
    if (isDpopBound(tokens)) (await grantSession(services).dpop()).nonces.remember(url, response.headers);
    return response;
  };
  const response = await send();
  if (isDpopBound(tokens) && isReplayable(init.body) && response.status === 401 && (await grantSession(services).dpop()).isNonceError({ status: response.status, headers: response.headers })) {
    await response.body?.cancel().catch(() => {});
    return send();
  }
  return response;
}

/** A body fetch can send twice: anything but a stream. */
function isReplayable(body: RequestInit['body']): boolean {
  if (body === undefined || body === null || typeof body === 'string' || body instanceof URLSearchParams || ArrayBuffer.isView(body) || body instanceof ArrayBuffer) return true;
  return (typeof Blob !== 'undefined' && body instanceof Blob) || (typeof FormData !== 'undefined' && body instanceof FormData);
}
