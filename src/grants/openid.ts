import type { Provider } from '../provider/schema.js';
import type { RawResponse } from '../provider/token-response.js';
import type { Secret } from '../secret.js';
import type { Services } from '../services/types.js';
import type { IdTokenClaims, TokenSet } from '../tokens.js';

/** What the id_token of one token response must be. */
export interface IdTokenExpectation {
  /** An OpenID sign-in (a code flow with `openid`): the response must carry an id_token (OIDC Core §3.1.3.3). */
  required: boolean;
  /** The nonce of the authorization request. */
  nonce?: Secret | undefined;
  /** On refresh: the claims of the id_token being replaced (OIDC Core §12.2). */
  previous?: IdTokenClaims | undefined;
}

/** Whether a flow with these scopes is an OpenID Connect sign-in at this provider. */
export function isOpenIdSignIn(provider: Provider, scopes: readonly string[]): boolean {
  return provider.openid !== undefined && scopes.includes('openid');
}

/**
 * Validates the id_token of a token response (when the provider is an OpenID Provider) and returns
 * the set with its claims, as a plain set (the caller seals it). A refresh that brings no new
 * id_token keeps the previous claims. The checks are imported when a provider has `openid` data:
 * a bundle whose providers have none does not carry them.
 */
export async function withIdTokenClaims(
  services: Services,
  provider: Provider,
  clientId: string,
  response: RawResponse,
  tokens: TokenSet,
  expect: IdTokenExpectation,
): Promise<TokenSet> {
  if (!provider.openid) return tokens;
  const { checkIdToken } = await import('./id-token-check.js');
  return checkIdToken(services, provider, clientId, response, tokens, expect);
}
