import { OAuthError } from '../errors.js';
import type { Provider } from '../provider/schema.js';
import type { TokenRequest } from '../provider/token-request.js';
import { endpointErrorFrom, type RawResponse } from '../provider/token-response.js';
import type { ClientConfig, ClientSecrets } from '../secrets.js';
import { sendRequest } from '../services/send.js';
import type { Services } from '../services/types.js';
import type { TokenSet } from '../tokens.js';
import { buildEndpointRequest } from './endpoint-request.js';

/** RFC 7009 §2.1 `token_type_hint`. */
export type TokenTypeHint = 'refresh_token' | 'access_token';

/** Which tokens of a stored set to revoke. */
export type RevokeWhich = TokenTypeHint | 'both';

export interface RevocationRequestInput {
  provider: Provider;
  client: ClientConfig;
  secrets: ClientSecrets;
  token: string;
  tokenTypeHint?: TokenTypeHint;
  /** services.userAgentHeader: false in a browser, which cannot send a User-Agent. */
  userAgentHeader?: boolean;
}

/** The provider's revocation endpoint, or `invalid_configuration` naming `provider.revocation`. */
export function requireRevocation(provider: Provider): NonNullable<Provider['revocation']> {
  if (provider.revocation) return provider.revocation;
  throw new OAuthError('invalid_configuration', `provider "${provider.id}" has no revocation endpoint (provider.revocation)`, { field: 'provider.revocation' });
}

/**
 * RFC 7009 §2.1: POST form `token` and `token_type_hint`, with the client's authentication. The
 * client authenticates as in the refresh grant: a client secret (basic or post) or, for a public
 * client, `client_id` in the body; never with a signed assertion.
 */
export function buildRevocationRequest(input: RevocationRequestInput): TokenRequest {
  return buildEndpointRequest(requireRevocation(input.provider), 'refresh_token', { ...input, params: { token: input.token, token_type_hint: input.tokenTypeHint } });
}

/**
 * RFC 7009 §2.2: any 2xx means revoked, an invalid or unknown token too, whatever the body (often
 * empty). §2.2.1: an error body is an OAuthError with its code (`unsupported_token_type` …); a 503
 * (any 5xx, or 429) is `retryable`, with `retryAfterMs` when the server says, but not retried here.
 */
export function processRevocationResponse(provider: Provider, response: RawResponse, now: number): void {
  if (response.status >= 200 && response.status <= 299) return;
  // RFC 7009 §2.2.1: an OAuth error body, as at the token endpoint.
  throw endpointErrorFrom(provider, response, now, 'revocation endpoint');
}

/** Builds, sends (timeout, size cap, transport errors as everywhere) and judges one revocation request. */
export async function revokeToken(services: Services, input: RevocationRequestInput, signal?: AbortSignal): Promise<void> {
  const response = await sendRequest(services, buildRevocationRequest({ ...input, userAgentHeader: services.userAgentHeader }), signal);
  processRevocationResponse(input.provider, response, services.clock.now());
}

/**
 * Revokes tokens of a set: by default its refresh token (RFC 7009 §2.1: the server should then
 * revoke the access tokens of the same grant too), or its access token when it has none.
 * `both` revokes the refresh token and then the access token.
 */
export async function revokeTokenSet(
  services: Services,
  secrets: ClientSecrets,
  input: { provider: Provider; client: ClientConfig; tokens: TokenSet; token?: RevokeWhich | undefined },
): Promise<void> {
  const { provider, client, tokens } = input;
  const which = input.token ?? 'refresh_token';
  const hints: TokenTypeHint[] = which === 'access_token' || !tokens.refreshToken ? ['access_token'] : which === 'both' ? ['refresh_token', 'access_token'] : ['refresh_token'];
  for (const hint of hints) {
    const token = hint === 'refresh_token' ? tokens.refreshToken! : tokens.accessToken;
    await revokeToken(services, { provider, client, secrets, token, tokenTypeHint: hint });
  }
}
