import { defineProvider } from '../provider/parse.js';
import type { ClientAuthMethod, PkceMethod, Provider, ProviderInput } from '../provider/schema.js';
import { mergeOverrides, type ProviderOverrides } from '../provider/overrides.js';

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
  /** OpenID Connect: the issuer's JWKS; with `openid` among the scopes, a nonce is sent and the id_token validated. Needs `issuer`. */
  jwksUri?: string;
  /** OpenID Connect UserInfo endpoint (client.getUserInfo()). */
  userinfoEndpoint?: string;
  /** JWS algorithms accepted for id_tokens (default RS256). */
  idTokenSigningAlgs?: string[];
  /** Clock skew allowed on id_token times, in seconds (default 60). */
  clockToleranceS?: number;
  /** RFC 9126: push every authorization request to this endpoint first. */
  pushedAuthorizationEndpoint?: string;
  /** RFC 9449: bind tokens to a DPoP key; `true` for ES256, or the server's algorithms. */
  dpop?: boolean | { algs: Array<'ES256' | 'ES384' | 'RS256' | 'PS256' | 'EdDSA'> };
  /**
   * Anything else the provider schema can say (docs/providers/README.md), merged over what the
   * options above give: objects field by field, arrays and values replaced.
   */
  overrides?: ProviderOverrides;
}

/** Any RFC 6749 authorization server: the standard parameter names, a form body, `access_token`. */
export function genericOAuth2(options: GenericOAuth2Options): Provider {
  const scopeRules = { default: options.defaultScopes ?? [] };
  const openid =
    options.jwksUri === undefined
      ? {}
      : {
          openid: {
            jwksUri: options.jwksUri,
            ...(options.userinfoEndpoint === undefined ? {} : { userinfoUrl: options.userinfoEndpoint }),
            ...(options.idTokenSigningAlgs === undefined ? {} : { idTokenSigningAlgs: options.idTokenSigningAlgs }),
            ...(options.clockToleranceS === undefined ? {} : { clockToleranceS: options.clockToleranceS }),
          },
        };
  const dpop = options.dpop === undefined || options.dpop === false ? {} : { dpop: options.dpop === true ? {} : options.dpop };
  const provider: ProviderInput = {
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
    ...openid,
    ...(options.pushedAuthorizationEndpoint === undefined ? {} : { pushedAuthorization: { url: options.pushedAuthorizationEndpoint } }),
    ...dpop,
    headers: options.headers ?? {},
    grants: {
      ...(options.authorizationEndpoint === undefined ? {} : { authorization_code: scopeRules }),
      refresh_token: {},
      client_credentials: scopeRules,
      ...(options.deviceAuthorizationEndpoint === undefined ? {} : { device_code: scopeRules }),
    },
  };
  return defineProvider(options.overrides === undefined ? provider : (mergeOverrides(provider, options.overrides) as ProviderInput));
}
