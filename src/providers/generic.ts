import { defineProvider } from '../provider/parse.js';
import type { ClientAuthMethod, PkceMethod, Provider } from '../provider/schema.js';

export interface GenericOAuth2Options {
  id?: string;
  name?: string;
  authorizationEndpoint?: string;
  tokenEndpoint: string;
  /** RFC 7009 revocation endpoint; enables `revoke` and revoking `logout` on the client. */
  revocationEndpoint?: string;
  /** RFC 8628 device authorization endpoint; enables the device authorization grant (`device_code`). */
  deviceAuthorizationEndpoint?: string;
  /** Enables the RFC 9207 `iss` check on callbacks. */
  issuer?: string;
  /**
   * With `issuer`: whether a callback without `iss` is refused (default true). Set false for a server
   * that does not send `iss` (its metadata lacks `authorization_response_iss_parameter_supported: true`,
   * RFC 9207 §2.4); an `iss` that is present must still equal `issuer`.
   */
  requiresIss?: boolean;
  authMethods?: ClientAuthMethod[];
  pkce?: { support: 'required' | 'optional' | 'unsupported'; methods?: PkceMethod[] };
  defaultScopes?: string[];
  scopeSeparator?: string;
  /** Extra token-response fields to keep in `TokenSet.extra` (default: `id_token`). */
  keep?: string[];
  codeLifetimeMs?: number;
  /** HTTP statuses answered without an OAuth error body, and the code each means (a bare 400 for a used refresh token: `{ 400: 'invalid_grant' }`). */
  statusErrors?: Record<string, string>;
  /** Error codes safe to retry (default `server_error`, `temporarily_unavailable`). */
  retryableErrors?: string[];
  /** `aud` of a private_key_jwt assertion: the token endpoint (default) or the issuer. */
  assertionAudience?: 'token_endpoint' | 'issuer';
  /** Whether a refresh token may be used more than once (then a refresh that may have been processed is retried). */
  refreshTokensReusable?: boolean;
  headers?: Record<string, string>;
}

/** Any RFC 6749 authorization server: the standard parameter names, a form body, `access_token`. */
export function genericOAuth2(options: GenericOAuth2Options): Provider {
  const scopeRules = { default: options.defaultScopes ?? [] };
  return defineProvider({
    id: options.id ?? 'oauth2',
    name: options.name ?? 'OAuth 2.0',
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    ...(options.authorizationEndpoint === undefined
      ? {}
      : {
          authorization: {
            url: options.authorizationEndpoint,
            pkce: { support: options.pkce?.support ?? 'optional', methods: options.pkce?.methods ?? ['S256'] },
            ...(options.scopeSeparator === undefined ? {} : { scopeSeparator: options.scopeSeparator }),
            ...(options.codeLifetimeMs === undefined ? {} : { codeLifetimeMs: options.codeLifetimeMs }),
            ...(options.requiresIss === undefined ? {} : { requiresIss: options.requiresIss }),
          },
        }),
    token: {
      url: options.tokenEndpoint,
      ...(options.authMethods === undefined ? {} : { authMethods: options.authMethods }),
      ...(options.statusErrors === undefined ? {} : { statusErrors: options.statusErrors }),
      ...(options.retryableErrors === undefined ? {} : { retryableErrors: options.retryableErrors }),
      ...(options.assertionAudience === undefined ? {} : { assertionAudience: options.assertionAudience }),
      ...(options.refreshTokensReusable === undefined ? {} : { refreshTokensReusable: options.refreshTokensReusable }),
      response: { keep: options.keep ?? ['id_token'] },
    },
    ...(options.revocationEndpoint === undefined ? {} : { revocation: { url: options.revocationEndpoint } }),
    ...(options.deviceAuthorizationEndpoint === undefined ? {} : { deviceAuthorization: { url: options.deviceAuthorizationEndpoint } }),
    headers: options.headers ?? {},
    grants: {
      ...(options.authorizationEndpoint === undefined ? {} : { authorization_code: scopeRules }),
      refresh_token: {},
      client_credentials: scopeRules,
      ...(options.deviceAuthorizationEndpoint === undefined ? {} : { device_code: scopeRules }),
    },
  });
}
