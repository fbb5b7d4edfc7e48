import type { PkcePair } from '../crypto/pkce.js';
import { OAuthError } from '../errors.js';
import type { Provider } from './schema.js';

export interface AuthorizationUrlOptions {
  provider: Provider;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state: string;
  pkce?: PkcePair;
  /** OpenID Connect: sent as `nonce`, and checked in the id_token. */
  nonce?: string;
  /** RFC 8707 resource indicators: one `resource` parameter each. */
  resource?: string[];
  extraParams?: Record<string, string>;
}

/** The parameters grantflow owns: extraParams may not override them. */
const RESERVED = [
  'client_id',
  'redirect_uri',
  'callback_url',
  'response_type',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
  'resource',
  'request_uri',
];

/**
 * Where the state travels: the `state` parameter, or, for providers without one (OpenRouter,
 * EUrouter), the redirect URL's own query string, so it comes back on the callback all the same.
 */
export function redirectUriToSend(provider: Provider, redirectUri: string, state: string): string {
  if (provider.authorization?.sendsState !== false) return redirectUri;
  const url = new URL(redirectUri);
  url.searchParams.set('state', state);
  return url.toString();
}

/** The authorization URL: the endpoint with every parameter of the request in its query. */
export function buildAuthorizationUrl(options: AuthorizationUrlOptions): string {
  const url = new URL(requireAuthorization(options.provider).url);
  const params = authorizationParams(options);
  // A parameter of the request replaces one of the same name in the endpoint's own query.
  for (const name of new Set(params.keys())) url.searchParams.delete(name);
  for (const [name, value] of params) url.searchParams.append(name, value);
  return url.toString();
}

/**
 * RFC 9126 §4: after a pushed request, the authorization URL carries only the client id and the
 * request URI the server gave back.
 */
export function buildPushedAuthorizationUrl(provider: Provider, clientId: string, requestUri: string): string {
  const url = new URL(requireAuthorization(provider).url);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('request_uri', requestUri);
  return url.toString();
}

function requireAuthorization(provider: Provider): NonNullable<Provider['authorization']> {
  if (!provider.authorization) {
    throw new OAuthError('invalid_provider', `provider "${provider.id}" has no authorization endpoint`, { field: 'provider.authorization' });
  }
  return provider.authorization;
}

/**
 * The parameters of an authorization request, in order, as the provider's data says: the query of
 * the authorization URL, or the body of a pushed authorization request.
 */
export function authorizationParams(options: AuthorizationUrlOptions): URLSearchParams {
  const { provider, pkce } = options;
  const endpoint = requireAuthorization(provider);
  const params = new URLSearchParams();
  if (endpoint.sendsClientId) params.set('client_id', options.clientId);
  params.set(endpoint.redirectParam, redirectUriToSend(provider, options.redirectUri, options.state));
  if (endpoint.sendsResponseType) params.set('response_type', 'code');
  if (endpoint.sendsScope && options.scopes.length > 0) params.set('scope', options.scopes.join(endpoint.scopeSeparator));
  if (endpoint.sendsState) params.set('state', options.state);
  if (pkce) {
    params.set('code_challenge', pkce.challenge);
    params.set('code_challenge_method', pkce.method);
  }
  if (options.nonce !== undefined) params.set('nonce', options.nonce);
  for (const resource of options.resource ?? []) params.append('resource', resource);
  for (const [name, value] of Object.entries(options.extraParams ?? {})) {
    if (typeof value !== 'string') {
      throw new OAuthError('invalid_configuration', `extraParams.${name} must be a string`, { field: `extraParams.${name}` });
    }
    if (RESERVED.includes(name) || (name === 'nonce' && options.nonce !== undefined)) {
      throw new OAuthError('invalid_configuration', `extraParams may not set "${name}": grantflow sets it`, { field: `extraParams.${name}` });
    }
    params.set(name, value);
  }
  return params;
}
