import { chooseClientAuth } from '../provider/client-auth.js';
import type { ClientAuthMethod, GrantType, Provider } from '../provider/schema.js';
import { buildTokenRequest, type TokenRequest } from '../provider/token-request.js';
import { checkUserAgent } from '../provider/user-agent.js';
import type { ClientConfig, ClientSecrets } from '../secrets.js';
import { secretsFor } from './prepare.js';

export interface EndpointRequestInput {
  provider: Provider;
  client: ClientConfig;
  secrets: ClientSecrets;
  /** services.userAgentHeader: false in a browser, which cannot send a User-Agent. */
  userAgentHeader?: boolean | undefined;
  params: Record<string, string | readonly string[] | undefined>;
}

/**
 * A form POST to one of the provider's other endpoints (revocation, device authorization), built
 * by the token request builder: the same client authentication strategies, headers and
 * User-Agent rule as at the token endpoint, with the endpoint's URL, no grant_type, and the
 * endpoint's own auth methods where it has them. `grant` says which secrets authenticate it.
 */
export function buildEndpointRequest(endpoint: { url: string; authMethods?: ClientAuthMethod[] | undefined }, grant: GrantType, input: EndpointRequestInput): TokenRequest {
  const provider: Provider = {
    ...input.provider,
    token: { ...input.provider.token, url: endpoint.url, body: 'form', sendsGrantType: false, authMethods: endpoint.authMethods ?? input.provider.token.authMethods },
  };
  checkUserAgent(provider, input.client, { userAgentHeader: input.userAgentHeader });
  const secrets = secretsFor(grant, input.secrets);
  return buildTokenRequest({
    provider,
    client: input.client,
    secrets,
    ...(input.userAgentHeader === undefined ? {} : { userAgentHeader: input.userAgentHeader }),
    auth: chooseClientAuth(provider, secrets, input.client),
    // Not sent (sendsGrantType is false); the builder asks for one.
    grantType: grant,
    params: input.params,
  });
}
