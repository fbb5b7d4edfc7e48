import type { OAuthError } from '../errors.js';
import type { PkceMethod, ProviderInput } from '../provider/schema.js';
import type { ClientConfig } from '../secrets.js';
import type { TokenSet } from '../tokens.js';

/** What every grant machine returns; a failed flow never throws out of the actor. */
export type GrantOutput =
  | {
      status: 'succeeded';
      tokens: TokenSet;
      /** Set when the tokens could not be stored: they are returned all the same. */
      storageError?: OAuthError;
      /** Refresh only: false when the stored set was fresh enough (another caller had refreshed it). */
      refreshed?: boolean;
    }
  | { status: 'failed'; error: OAuthError }
  | { status: 'cancelled'; error: OAuthError }
  | { status: 'expired'; error: OAuthError };

/** Machine input: data only, so a snapshot is JSON and can be persisted and resumed. */
export interface GrantInput {
  provider: ProviderInput;
  client: ClientConfig;
  scopes?: string[];
  extraParams?: Record<string, string>;
  /** Which stored TokenSet this flow writes or reads (one user, one account…). Default `default`. */
  key?: string;
}

export interface AuthorizationCodeInput extends GrantInput {
  /** Public id of this flow, kept in its pending record: the inspector shows start and completion as one actor. Default: random. */
  flowId?: string;
  /**
   * Also require the callback URL's origin and path to be the redirect URI's. Off by default: behind
   * a proxy the host an app sees may differ. The scheme always has to be the redirect URI's.
   */
  matchRedirectUri?: boolean;
  /** `S256` unless the provider allows nothing else; `plain` only then, and only when asked for. */
  pkceMethod?: PkceMethod;
  /** RFC 8707 resource indicators: where the tokens will be used (absolute URIs), sent in the authorization and token requests. */
  resource?: string | string[];
}

export interface RefreshTokenInput {
  provider: ProviderInput;
  client: ClientConfig;
  /** Which stored TokenSet to refresh. Default `default`. */
  key?: string;
  /** Scopes to ask for (at most those granted); default: the same. */
  scopes?: string[];
  /** Refresh even when the stored token is fresh. */
  force?: boolean;
  /** RFC 8707: the resource(s) the refreshed access token is for (a subset of those granted). */
  resource?: string | string[];
  /** A token this close to expiry counts as expired. Default 60 000 ms. */
  refreshWindowMs?: number;
}

export interface TokenSessionInput {
  provider: ProviderInput;
  client: ClientConfig;
  /** Which stored TokenSet the session keeps fresh. Default `default`. */
  key?: string;
  /** Refresh this long before expiry. Default 60 000 ms. */
  refreshWindowMs?: number;
}

export interface ClientCredentialsInput {
  provider: ProviderInput;
  client: ClientConfig;
  scopes?: string[];
  /** Cache key of the token; default: the scope set. */
  key?: string;
  /** Request a new token even when the cached one is fresh. */
  force?: boolean;
  /** RFC 8707: the resource(s) the token is for; part of the cache key. */
  resource?: string | string[];
  /** A cached token this close to expiry is not reused. Default 60 000 ms. */
  refreshWindowMs?: number;
}

/** The device authorization grant (RFC 8628): a client with no browser, or no keyboard. */
export interface DeviceAuthorizationInput {
  provider: ProviderInput;
  /** No redirect URI: the user approves on another device, at the verification URI. */
  client: ClientConfig;
  /** Sent as `scope` in the device authorization request; default: the grant's default scopes. */
  scopes?: string[];
  /** More parameters of the device authorization request (`audience` …). */
  extraParams?: Record<string, string>;
  /** RFC 8707: the resource(s) the tokens are for, sent in the device authorization and token requests. */
  resource?: string | string[];
  /** Which stored TokenSet the tokens go to. Default `default`. */
  key?: string;
}
