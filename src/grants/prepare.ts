import { OAuthError } from '../errors.js';
import { chooseClientAuth } from '../provider/client-auth.js';
import { parseProvider } from '../provider/parse.js';
import type { ClientAuthMethod, GrantType, Provider } from '../provider/schema.js';
import { checkUserAgent, type UserAgentOptions } from '../provider/user-agent.js';
import type { ClientConfig, ClientSecrets } from '../secrets.js';

/**
 * The checks every grant makes before anything is sent: the provider parses, supports the
 * grant, the client is well formed, its User-Agent fits, and its secrets fit an auth method.
 * `userAgent.userAgentHeader` is the services' flag: where the runtime cannot send a User-Agent
 * (a browser), a missing one is not refused.
 */
export function prepareGrant(
  providerInput: unknown,
  client: ClientConfig | undefined,
  secrets: ClientSecrets,
  grant: GrantType,
  userAgent: UserAgentOptions = {},
): { provider: Provider; auth: ClientAuthMethod } {
  const provider = parseProvider(providerInput);
  if (!client || typeof client.clientId !== 'string' || client.clientId === '') {
    throw new OAuthError('invalid_configuration', 'client.clientId must be a non-empty string', { field: 'client.clientId' });
  }
  if (!provider.grants[grant]) {
    throw new OAuthError('invalid_configuration', `provider "${provider.id}" does not support the ${grant} grant`, { field: `provider.grants.${grant}` });
  }
  checkUserAgent(provider, client, userAgent);
  if (provider.apiKey?.required && !secrets.apiKey) {
    throw new OAuthError('invalid_configuration', `provider "${provider.id}" needs an API key (sent as ${provider.apiKey.in} "${provider.apiKey.name}"); pass secrets.apiKey`, {
      field: 'secrets.apiKey',
    });
  }
  return { provider, auth: chooseClientAuth(provider, secretsFor(grant, secrets), client) };
}

/**
 * The secrets a grant authenticates with. Only the client-assertion grant signs assertions: the
 * code and refresh grants use a client secret or nothing, so a client given both a secret and a
 * private key (POEMS) exchanges its codes with the secret — and one given only a key for a
 * provider that accepts nothing else is refused before the user is sent away.
 */
export function secretsFor(grant: GrantType, secrets: ClientSecrets): ClientSecrets {
  if (grant === 'client_credentials' || secrets.privateKey === undefined) return secrets;
  const { privateKey: _signsAssertionsOnly, ...rest } = secrets;
  return rest;
}
