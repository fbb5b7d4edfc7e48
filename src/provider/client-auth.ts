import { OAuthError } from '../errors.js';
import type { ClientConfig, ClientSecrets } from '../secrets.js';
import type { ClientAuthMethod, Provider } from './schema.js';

/**
 * Client authentication as a strategy chosen by data (oauth4webapi's discipline): the provider
 * lists what it accepts, the secrets say what the client has, and one small function per method
 * adds what it must to the request.
 */
export function chooseClientAuth(provider: Provider, secrets: ClientSecrets, client?: ClientConfig): ClientAuthMethod {
  const accepted = provider.token.authMethods;
  const chosen = client?.authMethod;
  if (chosen !== undefined) {
    const fits = chosen === 'none' || (chosen === 'private_key_jwt' ? secrets.privateKey !== undefined : secrets.clientSecret !== undefined);
    if (accepted.includes(chosen) && fits) return chosen;
    throw new OAuthError(
      'invalid_configuration',
      accepted.includes(chosen)
        ? `client.authMethod "${chosen}" needs ${chosen === 'private_key_jwt' ? 'secrets.privateKey' : 'secrets.clientSecret'}`
        : `provider "${provider.id}" does not accept client.authMethod "${chosen}" (token.authMethods: ${accepted.join(', ')})`,
      { field: 'client.authMethod' },
    );
  }
  if (secrets.privateKey !== undefined && accepted.includes('private_key_jwt')) return 'private_key_jwt';
  if (secrets.clientSecret !== undefined) {
    const method = accepted.find((m) => m === 'client_secret_basic' || m === 'client_secret_post');
    if (method) return method;
    throw new OAuthError(
      'invalid_configuration',
      `provider "${provider.id}" accepts no client secret (token.authMethods: ${accepted.join(', ')}); do not pass secrets.clientSecret`,
      { field: 'secrets.clientSecret' },
    );
  }
  if (accepted.includes('none')) return 'none';
  const needs = accepted.includes('private_key_jwt') && !accepted.some((m) => m.startsWith('client_secret')) ? 'privateKey' : 'clientSecret';
  throw new OAuthError(
    'invalid_configuration',
    `provider "${provider.id}" requires client authentication (${accepted.join(' or ')}); pass secrets.${needs}`,
    { field: `secrets.${needs}` },
  );
}

export interface AuthParts {
  body: Record<string, string>;
  headers: Record<string, string>;
}

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded. */
function basicCredentials(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  const raw = new TextEncoder().encode(`${encode(clientId)}:${encode(secret)}`);
  let binary = '';
  for (const byte of raw) binary += String.fromCharCode(byte);
  return btoa(binary);
}

type Strategy = (provider: Provider, client: ClientConfig, secrets: ClientSecrets, assertion?: string) => AuthParts;

const clientIdInBody = (provider: Provider, client: ClientConfig): Record<string, string> =>
  provider.token.sendsClientId ? { client_id: client.clientId } : {};

export const clientAuthStrategies: Record<ClientAuthMethod, Strategy> = {
  none: (provider, client) => ({ body: clientIdInBody(provider, client), headers: {} }),
  client_secret_post: (_provider, client, secrets) => ({
    body: { client_id: client.clientId, client_secret: secrets.clientSecret ?? '' },
    headers: {},
  }),
  client_secret_basic: (_provider, client, secrets) => ({
    body: {},
    headers: { authorization: `Basic ${basicCredentials(client.clientId, secrets.clientSecret ?? '')}` },
  }),
  private_key_jwt: (_provider, client, _secrets, assertion) => {
    if (assertion === undefined) {
      throw new OAuthError('invalid_configuration', 'private_key_jwt needs a signed client assertion', { field: 'secrets.privateKey' });
    }
    return {
      body: {
        client_id: client.clientId,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      },
      headers: {},
    };
  },
};
