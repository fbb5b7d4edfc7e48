/** OpenID Connect core: nonce, JWKS cache, ID Token validation, UserInfo. Pure and injectable; the grants wire them. */
export { createNonce } from './nonce.js';
export { createJwksCache, DEFAULT_JWKS_COOLDOWN_MS, DEFAULT_JWKS_MAX_AGE_MS, type JwksCache, type JwksCacheOptions, type JwksGetKey } from './jwks.js';
export { validateIdToken, type IdTokenClaims, type ValidateIdTokenOptions } from './id-token.js';
export {
  buildUserInfoRequest,
  processUserInfoResponse,
  type BuildUserInfoRequestOptions,
  type ProcessUserInfoOptions,
  type UserInfo,
  type UserInfoRequest,
} from './userinfo.js';
