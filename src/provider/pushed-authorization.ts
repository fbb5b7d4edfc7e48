import { OAuthError } from '../errors.js';
import type { ClientConfig, ClientSecrets } from '../secrets.js';
import { clientAuthStrategies, chooseClientAuth } from './client-auth.js';
import type { Provider } from './schema.js';
import type { TokenRequest } from './token-request.js';
import { invalidResponse, parseJsonObject, endpointErrorFrom, type RawResponse } from './token-response.js';

/** What a pushed authorization request gives back (RFC 9126 §2.2). */
export interface PushedAuthorization {
  requestUri: string;
  /** Seconds the request URI stays usable. */
  expiresIn: number;
}

export interface PushedAuthorizationRequestInput {
  provider: Provider;
  client: ClientConfig;
  /** The client's secrets for the code grant (secretsFor('authorization_code')): it authenticates as at the token endpoint. */
  secrets: ClientSecrets;
  /** The authorization request's parameters (authorizationParams). */
  params: URLSearchParams;
  /** Builds the form POST to the PAR endpoint (buildEndpointRequest, bound to the provider's endpoint). */
  build: (params: Record<string, string | readonly string[] | undefined>) => TokenRequest;
}

/**
 * RFC 9126 §2.1: the authorization request's parameters, form-encoded, with the client's
 * authentication. `client_id` is sent once: by the authentication strategy where it adds it.
 */
export function buildPushedAuthorizationRequest(input: PushedAuthorizationRequestInput): TokenRequest {
  const auth = chooseClientAuth(input.provider, input.secrets, input.client);
  const strategyAddsClientId = clientAuthStrategies[auth](input.provider, input.client, input.secrets, '').body.client_id !== undefined;
  const fields: Record<string, string[]> = {};
  for (const [name, value] of input.params) {
    if (name === 'client_id' && strategyAddsClientId) continue;
    (fields[name] ??= []).push(value);
  }
  // client_secret_basic adds no client_id to the body; RFC 9126 §2.1 still wants the request's own.
  if (!strategyAddsClientId && fields.client_id === undefined) fields.client_id = [input.client.clientId];
  return input.build(Object.fromEntries(Object.entries(fields).map(([name, values]) => [name, values.length === 1 ? values[0]! : values])));
}

/** RFC 9126 §2.2–2.3: 201 with `request_uri` and `expires_in`, or an OAuth error. */
export function processPushedAuthorizationResponse(provider: Provider, response: RawResponse, now: number): PushedAuthorization {
  if (response.status !== 201) {
    if (response.status >= 200 && response.status < 300) {
      throw new OAuthError('invalid_response', `pushed authorization request answered HTTP ${response.status}, not 201 (RFC 9126 §2.2)`, {
        status: response.status,
        field: 'response.status',
        requestSent: true,
      });
    }
    // RFC 9126 §2.3: an OAuth error body, as at the token endpoint.
    throw endpointErrorFrom(provider, response, now, 'pushed authorization endpoint');
  }
  const body = parseJsonObject(response);
  const requestUri = body.request_uri;
  if (typeof requestUri !== 'string' || requestUri.length === 0) {
    throw invalidResponse(response, 'request_uri', requestUri === undefined ? 'is missing' : 'must be a non-empty string');
  }
  const expiresIn = body.expires_in;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw invalidResponse(response, 'expires_in', expiresIn === undefined ? 'is missing' : 'must be a positive number of seconds');
  }
  return { requestUri, expiresIn };
}
