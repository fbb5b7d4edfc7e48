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
  extraParams?: Record<string, string>;
}

/** The parameters grantflow owns: extraParams may not override them. */
const RESERVED = ['client_id', 'redirect_uri', 'callback_url', 'response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method'];

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

export function buildAuthorizationUrl(options: AuthorizationUrlOptions): string {
  const { provider, pkce } = options;
  const endpoint = provider.authorization;
  if (!endpoint) {
    throw new OAuthError('invalid_provider', `provider "${provider.id}" has no authorization endpoint`, { field: 'provider.authorization' });
  }
  const url = new URL(endpoint.url);
  const params = url.searchParams;
  if (endpoint.sendsClientId) params.set('client_id', options.clientId);
  params.set(endpoint.redirectParam, redirectUriToSend(provider, options.redirectUri, options.state));
  if (endpoint.sendsResponseType) params.set('response_type', 'code');
  if (endpoint.sendsScope && options.scopes.length > 0) params.set('scope', options.scopes.join(endpoint.scopeSeparator));
  if (endpoint.sendsState) params.set('state', options.state);
  if (pkce) {
    params.set('code_challenge', pkce.challenge);
    params.set('code_challenge_method', pkce.method);
  }
  for (const [name, value] of Object.entries(options.extraParams ?? {})) {
    if (typeof value !== 'string') {
      throw new OAuthError('invalid_configuration', `extraParams.${name} must be a string`, { field: `extraParams.${name}` });
    }
    if (RESERVED.includes(name)) {
      throw new OAuthError('invalid_configuration', `extraParams may not set "${name}": grantflow sets it`, { field: `extraParams.${name}` });
    }
    params.set(name, value);
  }
  return url.toString();
}
