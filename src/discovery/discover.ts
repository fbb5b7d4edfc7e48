import * as z from 'zod/mini';
import { OAuthError } from '../errors.js';
import { mergeOverrides, type ProviderOverrides } from '../provider/overrides.js';
import { parseProvider } from '../provider/parse.js';
import { DEVICE_CODE_GRANT_TYPE, type ClientAuthMethod, type GrantType, type PkceMethod, type Provider, type ProviderInput } from '../provider/schema.js';
import type { TokenRequest } from '../provider/token-request.js';
import { resolveServices } from '../services/defaults.js';
import { sendRequest } from '../services/send.js';
import type { Http } from '../services/types.js';

/**
 * discoverProvider: provider data from an authorization server's metadata (RFC 8414, or OpenID
 * Connect Discovery 1.0). Nothing here runs at import time; the one request is made when it is
 * called, through sendRequest (timeout, size cap, no redirects followed). The result is the same
 * plain, JSON-serialisable data as a hand-written provider, parsed by ProviderSchema.
 */

export type { DeepPartial, ProviderOverrides } from '../provider/overrides.js';

export type WellKnown = 'oauth-authorization-server' | 'openid-configuration' | 'both';

export interface DiscoverProviderOptions {
  /** The fetch used for the metadata request (default: the global fetch). */
  http?: Http;
  /** The provider's `id` (storage keys are namespaced by it). Default: from the issuer's host and path, `id-example-com-tenant`. */
  id?: string;
  /** Default: the issuer. */
  name?: string;
  overrides?: ProviderOverrides;
  /** Timeout of the metadata request, body included, in ms. Default 30 000. */
  timeoutMs?: number;
  /** Largest metadata document read, in bytes. Default 1 MiB. */
  maxResponseBytes?: number;
  /**
   * Which well-known URI is asked (default `both`: RFC 8414's first, then OpenID's when the first
   * does not answer 200 with a JSON object). RFC 8414 §3.1 inserts it between host and path
   * (`https://host/.well-known/oauth-authorization-server/tenant`); OpenID Discovery §4 appends it
   * (`https://host/tenant/.well-known/openid-configuration`).
   */
  wellKnown?: WellKnown;
  /** Aborts the request (`cancelled`). */
  signal?: AbortSignal;
  /**
   * Push authorization requests (RFC 9126) to the metadata's `pushed_authorization_request_endpoint`.
   * Default: only when the metadata says `require_pushed_authorization_requests: true`.
   */
  pushedAuthorization?: boolean;
  /**
   * Bind tokens to a DPoP key (RFC 9449), with the first of the metadata's
   * `dpop_signing_alg_values_supported` that grantflow has. Off by default: DPoP-bound tokens need a
   * proof on every resource request too (see docs/dpop.md).
   */
  dpop?: boolean;
}

/** The client authentication methods grantflow has, in the order a discovered provider prefers them. */
const AUTH_METHODS: readonly ClientAuthMethod[] = ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'];
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const URL_RULE = 'an https URL without a fragment (http only on 127.0.0.1, localhost or ::1)';

/** A JSON null is read as an absent field; RFC 8414 §3.2 omits empty claims. */
const opt = <T extends z.core.SomeType>(schema: T) => z.optional(z.nullable(schema));
const Strings = z.array(z.string());

/** The metadata fields discovery reads (RFC 8414 §2, RFC 8628 §4, RFC 9207 §3); the others are ignored. */
const MetadataSchema = z.object({
  issuer: z.string(),
  authorization_endpoint: opt(z.string()),
  token_endpoint: opt(z.string()),
  revocation_endpoint: opt(z.string()),
  device_authorization_endpoint: opt(z.string()),
  token_endpoint_auth_methods_supported: opt(Strings),
  revocation_endpoint_auth_methods_supported: opt(Strings),
  code_challenge_methods_supported: opt(Strings),
  grant_types_supported: opt(Strings),
  /** Informational only: nothing is derived from it. */
  scopes_supported: opt(Strings),
  authorization_response_iss_parameter_supported: opt(z.boolean()),
  // OpenID Connect Discovery 1.0 §3
  jwks_uri: opt(z.string()),
  userinfo_endpoint: opt(z.string()),
  id_token_signing_alg_values_supported: opt(Strings),
  // RFC 9126 §5, RFC 9449 §5.1
  pushed_authorization_request_endpoint: opt(z.string()),
  require_pushed_authorization_requests: opt(z.boolean()),
  dpop_signing_alg_values_supported: opt(Strings),
});
type Metadata = z.output<typeof MetadataSchema>;

const URL_FIELDS = [
  'authorization_endpoint',
  'token_endpoint',
  'revocation_endpoint',
  'device_authorization_endpoint',
  'jwks_uri',
  'userinfo_endpoint',
  'pushed_authorization_request_endpoint',
] as const;

/** The DPoP algorithms grantflow can sign with, in its order of preference. */
const DPOP_ALGS = ['ES256', 'EdDSA', 'ES384', 'PS256', 'RS256'] as const;

/**
 * Fetches the issuer's metadata and returns provider data for it. The metadata's `issuer` must
 * equal `issuer` exactly (RFC 8414 §3.3), or it is `invalid_provider` (field `metadata.issuer`);
 * malformed metadata is `invalid_provider` naming the field (`metadata.token_endpoint`). The
 * callback's `iss` is required when the metadata says `authorization_response_iss_parameter_supported:
 * true` (RFC 9207 §2.4), and checked whenever present.
 */
export async function discoverProvider(issuer: string, options: DiscoverProviderOptions = {}): Promise<Provider> {
  const issuerUrl = checkIssuer(issuer);
  checkOptions(options);
  const services = resolveServices({
    ...(options.http === undefined ? {} : { http: options.http }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes }),
  });
  const failures: string[] = [];
  let status: number | undefined;
  for (const url of wellKnownUrls(issuerUrl, options.wellKnown ?? 'both')) {
    // sendRequest is typed for token requests but passes method, headers and body to http as they are.
    const request = { url, method: 'GET', headers: { accept: 'application/json' } } as unknown as TokenRequest;
    const response = await sendRequest(services, request, options.signal);
    status = response.status;
    if (response.status !== 200) {
      failures.push(`${url} answered HTTP ${response.status}`);
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(response.text);
    } catch {
      failures.push(`${url} answered with a body that is not JSON`);
      continue;
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      failures.push(`${url} answered with JSON that is not an object`);
      continue;
    }
    return providerFromMetadata(issuer, parseMetadata(json, issuer), options);
  }
  const retryable = status !== undefined && (status >= 500 || status === 429);
  throw new OAuthError('invalid_response', `no authorization server metadata for ${issuer}: ${failures.join('; ')}`, {
    ...(status === undefined ? {} : { status }),
    field: 'metadata',
    retryable,
    requestSent: true,
  });
}

/** RFC 8414 §2: the issuer is an https URL with no query and no fragment (http allowed on loopback, for tests and development). */
function checkIssuer(issuer: unknown): URL {
  const fail = (what: string) => new OAuthError('invalid_configuration', `issuer ${what}`, { field: 'issuer' });
  if (typeof issuer !== 'string') throw fail('must be a string');
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw fail('must be a URL');
  }
  if (!allowedUrl(url) || url.search !== '' || issuer.includes('?')) throw fail(`must be ${URL_RULE} and without a query (RFC 8414 §2)`);
  if (url.username !== '' || url.password !== '') throw fail('must not carry credentials');
  return url;
}

function checkOptions(options: DiscoverProviderOptions): void {
  const wellKnown = options.wellKnown;
  if (wellKnown !== undefined && wellKnown !== 'both' && wellKnown !== 'oauth-authorization-server' && wellKnown !== 'openid-configuration') {
    throw new OAuthError('invalid_configuration', 'wellKnown must be "both", "oauth-authorization-server" or "openid-configuration"', { field: 'wellKnown' });
  }
  const overrides = options.overrides as Record<string, unknown> | undefined;
  if (overrides !== undefined && (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides))) {
    throw new OAuthError('invalid_configuration', 'overrides must be an object', { field: 'overrides' });
  }
  for (const name of ['issuer', 'id', 'name']) {
    if (overrides !== undefined && name in overrides) {
      const hint = name === 'issuer' ? 'it is the issuer asked for, checked against the metadata' : `pass options.${name}`;
      throw new OAuthError('invalid_configuration', `overrides.${name} is not allowed: ${hint}`, { field: `overrides.${name}` });
    }
  }
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new OAuthError('invalid_configuration', 'timeoutMs must be a positive number of milliseconds', { field: 'timeoutMs' });
  }
  if (options.maxResponseBytes !== undefined && !(Number.isSafeInteger(options.maxResponseBytes) && options.maxResponseBytes > 0)) {
    throw new OAuthError('invalid_configuration', 'maxResponseBytes must be a positive integer number of bytes', { field: 'maxResponseBytes' });
  }
  for (const name of ['pushedAuthorization', 'dpop'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') {
      throw new OAuthError('invalid_configuration', `${name} must be a boolean`, { field: name });
    }
  }
  if (options.http !== undefined && typeof options.http !== 'function') {
    throw new OAuthError('invalid_configuration', 'http must be a fetch-compatible function', { field: 'http' });
  }
}

/** The metadata URLs to try, in order. A terminating `/` of the issuer's path is removed first (RFC 8414 §3.1, OpenID Discovery §4). */
export function wellKnownUrls(issuer: URL, wellKnown: WellKnown): string[] {
  const path = issuer.pathname.replace(/\/+$/, '');
  const rfc8414 = `${issuer.origin}/.well-known/oauth-authorization-server${path}`;
  const openid = `${issuer.origin}${path}/.well-known/openid-configuration`;
  if (wellKnown === 'oauth-authorization-server') return [rfc8414];
  if (wellKnown === 'openid-configuration') return [openid];
  return [rfc8414, openid];
}

function allowedUrl(url: URL): boolean {
  if (url.hash !== '' || url.href.includes('#')) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

function metadataError(field: string, message: string, cause?: unknown): OAuthError {
  return new OAuthError('invalid_provider', `metadata "${field}" ${message}`, { field: `metadata.${field}`, ...(cause === undefined ? {} : { cause }) });
}

function parseMetadata(json: object, issuer: string): Metadata {
  const result = z.safeParse(MetadataSchema, json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.map(String).join('.');
    const value = issue.path.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined), json);
    const expected = issue.code === 'invalid_type' ? issue.expected : 'valid';
    const message = value === undefined ? 'is required' : `must be ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`;
    throw metadataError(field, message, result.error.issues);
  }
  const metadata = result.data;
  // RFC 8414 §3.3 (and OpenID Discovery §4.3): the metadata is for exactly the issuer asked for.
  if (metadata.issuer !== issuer) {
    throw metadataError('issuer', `is ${JSON.stringify(metadata.issuer)}, not the issuer asked for (${JSON.stringify(issuer)}): RFC 8414 §3.3 requires them to be identical`);
  }
  for (const name of URL_FIELDS) {
    const value = metadata[name];
    if (value === undefined || value === null) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (url === undefined || !allowedUrl(url)) throw metadataError(name, `must be ${URL_RULE}`);
  }
  return metadata;
}

/** Known methods only, in grantflow's order of preference; undefined when the metadata is silent. */
function authMethods(listed: string[] | null | undefined, field: string, overridden: boolean): ClientAuthMethod[] | undefined {
  if (listed === undefined || listed === null) return undefined;
  const known = AUTH_METHODS.filter((method) => listed.includes(method));
  if (known.length === 0 && !overridden) {
    throw metadataError(field, `lists no client authentication method grantflow supports (${AUTH_METHODS.join(', ')}); give one in overrides`);
  }
  return known;
}

/**
 * PKCE from `code_challenge_methods_supported`. Listed with S256 (or only plain): the server supports
 * PKCE, so it is always used (`required`), S256 first. Absent (or empty): `optional` with S256 —
 * sent anyway, because a server that does not support PKCE ignores the unknown parameters (RFC 6749
 * §3.1) and many that do support it do not say so. Listed without a method grantflow has: not sent.
 */
function pkce(listed: string[] | null | undefined): { support: 'required' | 'optional' | 'unsupported'; methods: PkceMethod[] } {
  if (listed === undefined || listed === null || listed.length === 0) return { support: 'optional', methods: ['S256'] };
  const methods = (['S256', 'plain'] as const).filter((method) => listed.includes(method));
  return methods.length === 0 ? { support: 'unsupported', methods: [] } : { support: 'required', methods };
}

function defaultId(issuer: URL): string {
  const id = `${issuer.host}${issuer.pathname}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return id === '' ? 'oauth2' : id;
}

function providerFromMetadata(issuer: string, metadata: Metadata, options: DiscoverProviderOptions): Provider {
  const overrides = (options.overrides ?? {}) as ProviderOverrides;
  const authorizationUrl = overrides.authorization?.url ?? metadata.authorization_endpoint ?? undefined;
  const tokenUrl = overrides.token?.url ?? metadata.token_endpoint ?? undefined;
  const deviceUrl = overrides.deviceAuthorization?.url ?? metadata.device_authorization_endpoint ?? undefined;
  if (tokenUrl === undefined) throw metadataError('token_endpoint', 'is required (or give overrides.token.url)');

  // RFC 8414 §2: grant_types_supported defaults to ["authorization_code", "implicit"]; grantflow has no implicit grant.
  const listed = metadata.grant_types_supported ?? undefined;
  const grants: Partial<Record<GrantType, object>> = {};
  if (listed === undefined) {
    if (authorizationUrl !== undefined) grants.authorization_code = {};
    grants.refresh_token = {}; // as genericOAuth2: a server that says nothing may still issue refresh tokens
    if (deviceUrl !== undefined) grants.device_code = {};
  } else {
    if (listed.includes('authorization_code')) {
      if (authorizationUrl === undefined) throw metadataError('authorization_endpoint', 'is required when grant_types_supported lists "authorization_code"');
      grants.authorization_code = {};
    }
    if (listed.includes('refresh_token')) grants.refresh_token = {};
    if (listed.includes('client_credentials')) grants.client_credentials = {};
    if (listed.includes(DEVICE_CODE_GRANT_TYPE)) {
      if (deviceUrl === undefined) throw metadataError('device_authorization_endpoint', `is required when grant_types_supported lists "${DEVICE_CODE_GRANT_TYPE}"`);
      grants.device_code = {};
    }
  }
  if (Object.keys(grants).length === 0 && overrides.grants === undefined) {
    throw metadataError('grant_types_supported', 'lists no grant grantflow supports (authorization_code, refresh_token, client_credentials, device_code)');
  }

  // RFC 8414 §2: token_endpoint_auth_methods_supported defaults to client_secret_basic.
  const tokenAuth = authMethods(metadata.token_endpoint_auth_methods_supported, 'token_endpoint_auth_methods_supported', overrides.token?.authMethods !== undefined) ?? [
    'client_secret_basic',
  ];
  const revocationAuth = metadata.revocation_endpoint
    ? authMethods(metadata.revocation_endpoint_auth_methods_supported, 'revocation_endpoint_auth_methods_supported', overrides.revocation?.authMethods !== undefined)
    : undefined;

  const discovered: ProviderInput = {
    ...openIdOf(metadata),
    ...pushedAuthorizationOf(metadata, options, authorizationUrl !== undefined),
    ...dpopOf(metadata, options),
    id: options.id ?? defaultId(new URL(issuer)),
    name: options.name ?? issuer,
    issuer,
    ...(authorizationUrl !== undefined
      ? {
          authorization: {
            url: authorizationUrl,
            pkce: pkce(metadata.code_challenge_methods_supported),
            // RFC 9207 §2.4: `iss` is required only from a server that says it sends it.
            requiresIss: metadata.authorization_response_iss_parameter_supported === true,
          },
        }
      : {}),
    token: {
      url: tokenUrl,
      authMethods: tokenAuth,
      response: { keep: ['id_token'] },
    },
    ...(metadata.revocation_endpoint ? { revocation: { url: metadata.revocation_endpoint, ...(revocationAuth?.length ? { authMethods: revocationAuth } : {}) } } : {}),
    ...(deviceUrl !== undefined ? { deviceAuthorization: { url: deviceUrl } } : {}),
    grants,
  };
  return parseProvider(mergeOverrides(discovered, overrides));
}

/**
 * OpenID Connect (Discovery §3): a server with a `jwks_uri` that says it issues id_tokens. Its
 * algorithms are those it lists that can be verified with a public key (never `none` or HS*);
 * RS256, which every OpenID Provider must support, when it lists none of them.
 */
function openIdOf(metadata: Metadata): Pick<ProviderInput, 'openid'> {
  const algs = metadata.id_token_signing_alg_values_supported;
  const says = algs !== undefined && algs !== null ? true : (metadata.scopes_supported ?? []).includes('openid') || !!metadata.userinfo_endpoint;
  if (!metadata.jwks_uri || !says) return {};
  const usable = (algs ?? []).filter((alg) => alg !== 'none' && !alg.startsWith('HS'));
  return {
    openid: {
      jwksUri: metadata.jwks_uri,
      ...(metadata.userinfo_endpoint ? { userinfoUrl: metadata.userinfo_endpoint } : {}),
      idTokenSigningAlgs: usable.length > 0 ? usable : ['RS256'],
    },
  };
}

function pushedAuthorizationOf(metadata: Metadata, options: DiscoverProviderOptions, hasAuthorization: boolean): Pick<ProviderInput, 'pushedAuthorization'> {
  const url = metadata.pushed_authorization_request_endpoint ?? undefined;
  const wanted = options.pushedAuthorization ?? metadata.require_pushed_authorization_requests === true;
  if (!wanted || !hasAuthorization) return {};
  if (url === undefined) {
    throw metadataError(
      'pushed_authorization_request_endpoint',
      options.pushedAuthorization ? 'is required for pushedAuthorization: true' : 'is required when require_pushed_authorization_requests is true',
    );
  }
  return { pushedAuthorization: { url } };
}

function dpopOf(metadata: Metadata, options: DiscoverProviderOptions): Pick<ProviderInput, 'dpop'> {
  if (!options.dpop) return {};
  const listed = metadata.dpop_signing_alg_values_supported;
  if (listed === undefined || listed === null) throw metadataError('dpop_signing_alg_values_supported', 'is required for dpop: true (the server does not say it supports DPoP)');
  const algs = DPOP_ALGS.filter((alg) => listed.includes(alg) || (alg === 'EdDSA' && listed.includes('Ed25519')));
  if (algs.length === 0) throw metadataError('dpop_signing_alg_values_supported', `lists no algorithm grantflow signs DPoP proofs with (${DPOP_ALGS.join(', ')})`);
  return { dpop: { algs: [...algs] } };
}
