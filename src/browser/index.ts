/**
 * grantflow/browser: sign-in for single-page apps (see docs/browser.md). Browser-safe only: no
 * Node API is imported from here.
 */
export {
  createBrowserAuth,
  type AuthEvent,
  type AuthEventType,
  type AuthListener,
  type BrowserAuth,
  type BrowserAuthOptions,
  type BrowserWindowLike,
  type LoginOptions,
  type PopupLike,
  type PopupOptions,
  type RedirectCallbackResult,
} from './create-browser-auth.js';
export { webStorage, type WebStorageLike } from '../services/web-storage.js';
export { indexedDbStorage, type IndexedDbStorageOptions } from '../services/indexeddb-storage.js';
export { OAuthError, isOAuthError } from '../errors.js';
export type { LogoutResult } from '../client.js';
export type { IdTokenClaims, TokenSet } from '../tokens.js';
export type { UserInfo } from '../oidc/userinfo.js';
export type { Storage } from '../services/types.js';
