import type { ClientConfig, ClientSecrets } from '../secrets.js';
import { clientAuthStrategies } from './client-auth.js';
import { runtimeSendsUserAgent } from './user-agent.js';
import type { ClientAuthMethod, GrantType, Provider } from './schema.js';

/** A token request, built but not sent: plain data, so it is easy to test and to log redacted. */
export interface TokenRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}

export interface BuildTokenRequestOptions {
  provider: Provider;
  client: ClientConfig;
  secrets: ClientSecrets;
  auth: ClientAuthMethod;
  grantType: GrantType;
  /** The grant's own parameters (`code`, `code_verifier`, `refresh_token`, `scope` …); a list is sent as a repeated parameter (RFC 8707 `resource`). */
  params: Record<string, string | readonly string[] | undefined>;
  /** A signed client assertion, for private_key_jwt. */
  assertion?: string;
  /**
   * Whether a User-Agent header is built (`services.userAgentHeader`): not in a browser, which
   * forbids the header. Default: runtimeSendsUserAgent().
   */
  userAgentHeader?: boolean;
}

/** Builds the token request exactly as the provider's data says: which fields, which encoding, which headers. */
export function buildTokenRequest(options: BuildTokenRequestOptions): TokenRequest {
  const { provider, client, secrets, auth, grantType, params } = options;
  const authParts = clientAuthStrategies[auth](provider, client, secrets, options.assertion);
  const fields: Record<string, string | readonly string[]> = {};
  if (provider.token.sendsGrantType) fields.grant_type = grantType;
  for (const [name, value] of Object.entries(params)) if (value !== undefined && !(Array.isArray(value) && value.length === 0)) fields[name] = value;
  Object.assign(fields, authParts.body);
  const apiKeyRule = provider.apiKey;
  if (apiKeyRule && secrets.apiKey !== undefined && apiKeyRule.in === 'body') fields[apiKeyRule.name] = secrets.apiKey;

  const headers: Record<string, string> = { accept: 'application/json', ...lowerCaseKeys(provider.headers), ...authParts.headers };
  if (client.userAgent !== undefined && (options.userAgentHeader ?? runtimeSendsUserAgent())) headers['user-agent'] = client.userAgent;
  if (apiKeyRule && secrets.apiKey !== undefined && apiKeyRule.in === 'header') headers[apiKeyRule.name.toLowerCase()] = secrets.apiKey;
  let body: string;
  if (provider.token.body === 'json') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(fields);
  } else {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) for (const item of typeof value === 'string' ? [value] : value) form.append(name, item);
    body = form.toString();
  }
  return { url: provider.token.url, method: 'POST', headers, body };
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
