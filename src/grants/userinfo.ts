import { buildUserInfoRequest, processUserInfoResponse, type UserInfo } from '../oidc/userinfo.js';
import type { Provider } from '../provider/schema.js';
import type { TokenRequest } from '../provider/token-request.js';
import type { ClientConfig } from '../secrets.js';
import { sendRequest } from '../services/send.js';
import type { Services } from '../services/types.js';
import type { TokenSet } from '../tokens.js';
import { authorizationHeaders, isDpopBound } from './resource-request.js';
import { grantSession } from './session.js';

/**
 * OIDC Core §5.3: GET the UserInfo endpoint with the access token (and a DPoP proof for a
 * DPoP-bound token, answering one `use_dpop_nonce`); the answer's `sub` must be the id_token's.
 * Imported by the facade only when getUserInfo is called.
 */
export async function requestUserInfo(services: Services, provider: Provider, client: ClientConfig, tokens: TokenSet, url: string): Promise<UserInfo> {
  const build = async () =>
    buildUserInfoRequest({
      url,
      accessToken: tokens.accessToken,
      tokenType: tokens.tokenType,
      headers: await authorizationHeaders(services, provider, client, tokens, { method: 'GET', url }),
    }) as unknown as TokenRequest; // sendRequest passes method and headers through as they are
  let response = await sendRequest(services, await build());
  if (isDpopBound(tokens)) {
    const dpop = await grantSession(services).dpop();
    dpop.nonces.remember(url, response.headers);
    if (dpop.isNonceError(response)) response = await sendRequest(services, await build());
  }
  return processUserInfoResponse(response, tokens.idTokenClaims ? { expectedSub: tokens.idTokenClaims.sub } : {});
}
