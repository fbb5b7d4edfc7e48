import * as z from 'zod/mini';

/**
 * ProviderSchema: everything in which OAuth providers differ, said as data. A provider is a plain,
 * JSON-serialisable object; no field holds a function, and no code branches on `id`.
 * zod/mini keeps the browser bundle small (see TOOLCHAIN.md).
 */

const Url = z.url({ protocol: /^https?$/ });

export const ClientAuthMethodSchema = z.enum(['none', 'client_secret_post', 'client_secret_basic', 'private_key_jwt']);
export const PkceMethodSchema = z.enum(['S256', 'plain']);
/** Grants by key; `device_code` is RFC 8628's `urn:ietf:params:oauth:grant-type:device_code` (DEVICE_CODE_GRANT_TYPE). */
export const GrantTypeSchema = z.enum(['authorization_code', 'refresh_token', 'client_credentials', 'device_code']);

/** The `grant_type` sent for the `device_code` grant (RFC 8628 §3.4). */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** Which scopes a grant may ask for. Patterns are exact, or end in `*` (`service:*`). */
export const ScopeRulesSchema = z.strictObject({
  /** Only scopes matching one of these may be requested; absent means any scope. */
  allowed: z.optional(z.array(z.string())),
  /** Scopes matching one of these are refused in this grant (Path of Exile: `service:*` at login). */
  forbidden: z._default(z.array(z.string()), []),
  /** Scopes that are always sent (Poe: `apikey:create`). */
  required: z._default(z.array(z.string()), []),
  /** Scopes sent when the caller asks for none. */
  default: z._default(z.array(z.string()), []),
  /** The grant is for confidential clients only (Path of Exile's client credentials). */
  confidentialClientsOnly: z._default(z.boolean(), false),
});

export const AuthorizationEndpointSchema = z.strictObject({
  url: Url,
  /** Name of the redirect parameter: RFC 6749's `redirect_uri`, or OpenRouter's `callback_url`. */
  redirectParam: z._default(z.enum(['redirect_uri', 'callback_url']), 'redirect_uri'),
  sendsClientId: z._default(z.boolean(), true),
  sendsResponseType: z._default(z.boolean(), true),
  sendsScope: z._default(z.boolean(), true),
  /** False where the provider has no `state` parameter: the state then travels in the redirect URL's own query. */
  sendsState: z._default(z.boolean(), true),
  scopeSeparator: z._default(z.string(), ' '),
  pkce: z._default(
    z.strictObject({
      support: z.enum(['required', 'optional', 'unsupported']),
      methods: z._default(z.array(PkceMethodSchema), ['S256']),
    }),
    { support: 'optional', methods: ['S256'] },
  ),
  /** How long a user has to come back with a code (10 minutes unless the provider says otherwise). */
  codeLifetimeMs: z._default(z.number().check(z.positive()), 600_000),
  /**
   * With `issuer` set, whether a callback without `iss` is refused (RFC 9207 §2.4: required when the
   * server's metadata says `authorization_response_iss_parameter_supported: true`). An `iss` that is
   * present must equal `issuer` either way. Absent: true (refused), as before the field existed.
   * No effect without `issuer`. discoverProvider sets it from the metadata.
   */
  requiresIss: z.optional(z.boolean()),
});

export const TokenResponseSchema = z.strictObject({
  /** Field holding the credential: `access_token`, Poe's `api_key`, OpenRouter's `key`. */
  credential: z._default(z.string(), 'access_token'),
  /** Field holding its lifetime in seconds; null when the provider never sends one. */
  expiresIn: z._default(z.nullable(z.string()), 'expires_in'),
  /** Other response fields kept in `TokenSet.extra` (EUrouter's `user_id`). */
  keep: z._default(z.array(z.string()), []),
});

export const TokenEndpointSchema = z.strictObject({
  url: Url,
  body: z._default(z.enum(['form', 'json']), 'form'),
  sendsGrantType: z._default(z.boolean(), true),
  sendsRedirectUri: z._default(z.boolean(), true),
  /** `client_id` in the body for public clients and client_secret_post (RFC 6749 §2.3, §4.1.3). */
  sendsClientId: z._default(z.boolean(), true),
  /** OpenRouter and EUrouter want the PKCE method again at the exchange. */
  sendsCodeChallengeMethod: z._default(z.boolean(), false),
  /** Client authentication methods the provider accepts, in order of preference. */
  authMethods: z._default(z.array(ClientAuthMethodSchema).check(z.minLength(1)), ['none', 'client_secret_basic', 'client_secret_post']),
  /** `aud` of a private_key_jwt assertion (RFC 7523): the token endpoint, or the issuer. */
  assertionAudience: z._default(z.enum(['token_endpoint', 'issuer']), 'token_endpoint'),
  response: z._default(TokenResponseSchema, { credential: 'access_token', expiresIn: 'expires_in', keep: [] }),
  /** HTTP statuses that carry no OAuth error body, and the error code each means. */
  statusErrors: z._default(z.record(z.string().check(z.regex(/^[45]\d\d$/)), z.string().check(z.minLength(1))), {}),
  /** Error codes that are safe to retry (Poe: `server_error`). */
  retryableErrors: z._default(z.array(z.string()), ['server_error', 'temporarily_unavailable']),
  /** Whether a refresh token may be used more than once (a retry after a lost response is safe). */
  refreshTokensReusable: z._default(z.boolean(), false),
});

/** RFC 7009 token revocation. The request is always a form (RFC 7009 §2.1), so `body` has one value. */
export const RevocationEndpointSchema = z.strictObject({
  url: Url,
  body: z._default(z.enum(['form']), 'form'),
  /** Client authentication methods the revocation endpoint accepts; absent: the token endpoint's `authMethods`. */
  authMethods: z.optional(z.array(ClientAuthMethodSchema).check(z.minLength(1))),
});

/** RFC 8628 §3.1 device authorization endpoint; the request is always a form, authenticated as at the token endpoint. */
export const DeviceAuthorizationEndpointSchema = z.strictObject({
  url: Url,
});

/**
 * OpenID Connect (OIDC Core 1.0): where the server is an OpenID Provider. With `openid` among the
 * scopes, a nonce is sent and kept with the pending flow, and the token response's id_token is
 * validated against the JWKS (signature, iss, aud, azp, exp, iat, nonce). Needs `issuer`.
 */
export const OpenIdSchema = z.strictObject({
  jwksUri: Url,
  userinfoUrl: z.optional(Url),
  /** JWS algorithms accepted for id_tokens (`id_token_signing_alg_values_supported`); `none` and HS* never are. */
  idTokenSigningAlgs: z._default(z.array(z.string().check(z.regex(/^(?!none$)(?!HS)[A-Za-z0-9+-]+$/))).check(z.minLength(1)), ['RS256']),
  /** How far the server's clock may be off ours, for exp, iat and auth_time. */
  clockToleranceS: z._default(z.number().check(z.nonnegative()), 60),
});

/**
 * RFC 9126 pushed authorization requests: when set, the authorization request is POSTed here first
 * (authenticated as at the token endpoint) and the authorization URL carries only `client_id` and `request_uri`.
 */
export const PushedAuthorizationSchema = z.strictObject({
  url: Url,
});

/**
 * RFC 9449 DPoP: when set, token requests carry a proof signed with the client's key pair, and the
 * tokens are bound to it (`token_type: DPoP`).
 */
export const DpopSchema = z.strictObject({
  /** JWS algorithms the server accepts for proofs (`dpop_signing_alg_values_supported`); the first one grantflow has is used. */
  algs: z._default(z.array(z.enum(['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'])).check(z.minLength(1)), ['ES256']),
});

export const UserAgentRuleSchema = z.strictObject({
  required: z.boolean(),
  /** The documented shape, placeholders in braces: `OAuth {clientId}/{version} (contact: {contact})`. */
  template: z.string().check(z.minLength(1)),
});

/** Where a gateway API key goes on token requests (POEMS issues one; its document does not say where: the app fills this in). */
export const ApiKeyRuleSchema = z.strictObject({
  in: z.enum(['header', 'body']),
  name: z.string().check(z.minLength(1)),
  required: z._default(z.boolean(), true),
});

export const ProviderSchema = z.strictObject({
  id: z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]*$/)),
  name: z.string().check(z.minLength(1)),
  /** Where the provider documents its OAuth flows. */
  docs: z.optional(Url),
  /** When set, the callback's `iss` is checked against it (RFC 9207); see `authorization.requiresIss`. */
  issuer: z.optional(Url),
  authorization: z.optional(AuthorizationEndpointSchema),
  token: TokenEndpointSchema,
  /** Where tokens are revoked (RFC 7009); absent when the provider has no revocation endpoint. */
  revocation: z.optional(RevocationEndpointSchema),
  /** Where a device asks for its device and user codes (RFC 8628); required by `grants.device_code`. */
  deviceAuthorization: z.optional(DeviceAuthorizationEndpointSchema),
  openid: z.optional(OpenIdSchema),
  pushedAuthorization: z.optional(PushedAuthorizationSchema),
  dpop: z.optional(DpopSchema),
  /** Static headers sent with every token request. */
  headers: z._default(z.record(z.string().check(z.regex(/^[A-Za-z0-9-]+$/)), z.string()), {}),
  userAgent: z.optional(UserAgentRuleSchema),
  /** The value comes from `secrets.apiKey`. */
  apiKey: z.optional(ApiKeyRuleSchema),
  /** The grants the provider supports, each with its scope rules. */
  grants: z.partialRecord(GrantTypeSchema, ScopeRulesSchema),
});

/** A provider as written (defaults may be left out). */
export type ProviderInput = z.input<typeof ProviderSchema>;
/** A provider once parsed: every default filled in. Still plain JSON. */
export type Provider = z.output<typeof ProviderSchema>;
export type ClientAuthMethod = z.output<typeof ClientAuthMethodSchema>;
export type PkceMethod = z.output<typeof PkceMethodSchema>;
export type GrantType = z.output<typeof GrantTypeSchema>;
export type ScopeRules = z.output<typeof ScopeRulesSchema>;
export type RevocationEndpoint = z.output<typeof RevocationEndpointSchema>;
export type DeviceAuthorizationEndpoint = z.output<typeof DeviceAuthorizationEndpointSchema>;
export type OpenIdConfig = z.output<typeof OpenIdSchema>;
export type DpopConfig = z.output<typeof DpopSchema>;
