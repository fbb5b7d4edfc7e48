/** grantflow: OAuth 2 client grants as explicit XState v5 state machines. Runs in browsers, Deno, Bun, Workers and Node. */
export { createOAuthClient } from './client.js';
export type { OAuthClient, OAuthClientOptions, StartAuthorizationOptions, StartedAuthorization, CompletedAuthorization, RevokeOptions, LogoutOptions, LogoutResult } from './client.js';
export type { TokenTypeHint, RevokeWhich } from './grants/revoke.js';
export { OAuthError, isOAuthError, isOAuthErrorCode, GRANTFLOW_ERROR_CODES, RFC6749_ERROR_CODES, EXTENSION_ERROR_CODES } from './errors.js';
export type { OAuthErrorCode, GrantflowErrorCode, Rfc6749ErrorCode, ExtensionErrorCode, SerializedOAuthError, OAuthErrorOptions } from './errors.js';
export type { IdTokenClaims, TokenSet } from './tokens.js';
export type { ClientConfig, ClientSecrets } from './secrets.js';
export { ProviderSchema } from './provider/schema.js';
export type { Provider, ProviderInput, ClientAuthMethod, PkceMethod, GrantType, ScopeRules, RevocationEndpoint, DeviceAuthorizationEndpoint, OpenIdConfig, DpopConfig } from './provider/schema.js';
export { defineProvider, parseProvider } from './provider/parse.js';
export { discoverProvider, type DiscoverProviderOptions, type ProviderOverrides, type WellKnown } from './discovery/discover.js';
export { buildAuthorizationUrl } from './provider/authorization-url.js';
export type { UserInfo } from './oidc/userinfo.js';
// validateIdToken, createJwksCache … are in 'grantflow/oidc'; createDpopProof, generateDpopKeyPair … in
// 'grantflow/dpop': the grants import them only when a provider needs them, so they stay out of this entry.
export { buildTokenRequest, type TokenRequest } from './provider/token-request.js';
export { processTokenResponse, type RawResponse } from './provider/token-response.js';
export { checkCallback } from './provider/callback.js';
export { createPkcePair, codeChallenge, createState, type PkcePair } from './crypto/pkce.js';
export { memoryStorage } from './services/memory-storage.js';
export { webStorage, type WebStorageLike } from './services/web-storage.js';
export { indexedDbStorage, type IndexedDbStorageOptions } from './services/indexeddb-storage.js';
export { encryptedStorage } from './services/encrypted-storage.js';
export type { Http, Storage, StorageSetOptions, Clock, Random, RetryPolicy, LockPolicy } from './services/types.js';
export type { ServiceOptions, ProvidedServices } from './services/defaults.js';
export { redactingInspector, inspectionSettled, type Inspector, type InspectOptions, type InspectionHandle } from './inspect/inspector.js';
export { REDACTED, Secret, secret } from './secret.js';
export { plainTokenSet, sealTokenSet } from './tokens.js';
export type { GrantInput, GrantOutput, AuthorizationCodeInput, DeviceAuthorizationInput } from './grants/types.js';
