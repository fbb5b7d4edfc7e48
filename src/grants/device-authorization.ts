import { sendToProvider } from './session.js';
import { withIdTokenClaims } from './openid.js';
import { checkResource } from '../provider/resource.js';
import { fromPromise } from 'xstate';
import { OAuthError, toOAuthError } from '../errors.js';
import { chooseClientAuth } from '../provider/client-auth.js';
import { DEVICE_CODE_GRANT_TYPE, type Provider } from '../provider/schema.js';
import { resolveScopes } from '../provider/scopes.js';
import { buildTokenRequest, type TokenRequest } from '../provider/token-request.js';
import { endpointErrorFrom, MAX_LIFETIME_SECONDS, processTokenResponse, type RawResponse } from '../provider/token-response.js';
import { revealSecret, Secret } from '../secret.js';
import type { ClientConfig, ClientSecrets } from '../secrets.js';
import { sendRequest } from '../services/send.js';
import type { Services } from '../services/types.js';
import { sealTokenSet, withRequestedScopes, type TokenSet } from '../tokens.js';
import { buildEndpointRequest } from './endpoint-request.js';
import { prepareGrant, secretsFor } from './prepare.js';
import { backoffDelay, canRetry } from './retry.js';
import { writeTokens, type TokenLocation } from './token-store.js';
import type { DeviceAuthorizationInput } from './types.js';

/** RFC 8628 §3.2: the polling interval when the server gives none, in seconds. */
export const DEFAULT_POLL_INTERVAL_SECONDS = 5;
/** RFC 8628 §3.5: what each `slow_down` adds to the interval, in seconds. */
export const SLOW_DOWN_SECONDS = 5;

/** What the device authorization endpoint answered (RFC 8628 §3.2), validated. */
export interface DeviceAuthorization {
  /** Secret: whoever holds it gets the tokens once the user approves. */
  deviceCode: Secret;
  /** Shown to the user, who types it at `verificationUri`. */
  userCode: string;
  verificationUri: string;
  /** The verification URI with the user code in it (for a QR code), when the server gives one. */
  verificationUriComplete?: string;
  /** Epoch ms after which the device code is no longer valid (`expires_in`). */
  expiresAt: number;
  /** Seconds to wait between polls (`interval`, default 5). */
  interval: number;
}

/** What requestingCode hands to awaitingUser: the answer, and what polling needs. */
export interface StartedDeviceAuthorization extends DeviceAuthorization {
  provider: Provider;
  /** The scopes asked for: a token response without `scope` was granted these (RFC 6749 §5.1). */
  scopes: string[];
}

export interface DeviceAuthorizationContext {
  input: DeviceAuthorizationInput;
  provider?: Provider;
  scopes?: string[];
  deviceCode?: Secret;
  /** Public, shown while awaiting the user: what the app displays. */
  userCode?: string;
  verificationUri?: string;
  verificationUriComplete?: string;
  expiresAt?: number;
  /** Seconds between polls; `slow_down` adds 5. */
  interval: number;
  /** Consecutive transient failures (of the device request, then of polling). */
  attempt: number;
  retryAfterMs?: number;
  tokens?: TokenSet;
  storageError?: OAuthError;
  error?: OAuthError;
}

/** The provider's device authorization endpoint, or `invalid_configuration` naming `provider.deviceAuthorization`. */
export function requireDeviceAuthorization(provider: Provider): NonNullable<Provider['deviceAuthorization']> {
  if (provider.deviceAuthorization) return provider.deviceAuthorization;
  throw new OAuthError('invalid_configuration', `provider "${provider.id}" has no device authorization endpoint (provider.deviceAuthorization)`, {
    field: 'provider.deviceAuthorization',
  });
}

export interface DeviceAuthorizationRequestInput {
  provider: Provider;
  client: ClientConfig;
  secrets: ClientSecrets;
  scopes: readonly string[];
  extraParams?: Record<string, string> | undefined;
  /** RFC 8707 resource indicators (checkResource). */
  resource?: string[] | undefined;
  /** services.userAgentHeader: false in a browser, which cannot send a User-Agent. */
  userAgentHeader?: boolean;
}

/** RFC 8628 §3.1: POST form `client_id` (or the client's authentication) and `scope`. */
export function buildDeviceAuthorizationRequest(input: DeviceAuthorizationRequestInput): TokenRequest {
  const params = { ...input.extraParams, scope: input.scopes.length > 0 ? input.scopes.join(' ') : undefined, resource: input.resource };
  return buildEndpointRequest(requireDeviceAuthorization(input.provider), 'device_code', { ...input, params });
}

function invalidDeviceResponse(response: RawResponse, field: string, problem: string): OAuthError {
  return new OAuthError('invalid_response', `device authorization endpoint: "response" body "${field}" property ${problem}`, {
    status: response.status,
    field: `response.body.${field}`,
    requestSent: true,
  });
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** Seconds as a finite number (or a string of digits) in (0, 10 years]; anything else undefined. */
function positiveSeconds(value: unknown): number | undefined {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^[0-9]{1,20}$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_LIFETIME_SECONDS ? seconds : undefined;
}

/**
 * RFC 8628 §3.2: validates the device authorization response, or throws the OAuthError it
 * carries (§3.2: error bodies as at the token endpoint). Pure; messages name the field at fault
 * and never echo the device code.
 */
export function processDeviceAuthorizationResponse(provider: Provider, response: RawResponse, now: number): DeviceAuthorization {
  if (response.status < 200 || response.status > 299) {
    throw endpointErrorFrom(provider, response, now, 'device authorization endpoint');
  }
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new OAuthError('invalid_response', `device authorization endpoint answered HTTP ${response.status} with a body that is not a JSON object`, {
      status: response.status,
      field: 'response.body',
      requestSent: true,
    });
  }
  const fields = body as Record<string, unknown>;
  const requiredString = (field: string): string => {
    const value = fields[field];
    if (value === undefined || value === null) throw invalidDeviceResponse(response, field, 'is missing');
    if (typeof value !== 'string' || value.length === 0) throw invalidDeviceResponse(response, field, 'must be a non-empty string');
    return value;
  };
  const deviceCode = requiredString('device_code');
  const userCode = requiredString('user_code');
  const verificationUri = requiredString('verification_uri');
  if (!isHttpUrl(verificationUri)) throw invalidDeviceResponse(response, 'verification_uri', 'must be an http(s) URL');
  let verificationUriComplete: string | undefined;
  if (fields.verification_uri_complete !== undefined && fields.verification_uri_complete !== null) {
    verificationUriComplete = requiredString('verification_uri_complete');
    if (!isHttpUrl(verificationUriComplete)) throw invalidDeviceResponse(response, 'verification_uri_complete', 'must be an http(s) URL');
  }
  if (fields.expires_in === undefined || fields.expires_in === null) throw invalidDeviceResponse(response, 'expires_in', 'is missing');
  const expiresIn = positiveSeconds(fields.expires_in);
  if (expiresIn === undefined) throw invalidDeviceResponse(response, 'expires_in', `must be a positive number of seconds (at most ${MAX_LIFETIME_SECONDS})`);
  let interval = DEFAULT_POLL_INTERVAL_SECONDS;
  if (fields.interval !== undefined && fields.interval !== null) {
    const seconds = positiveSeconds(fields.interval);
    if (seconds === undefined) throw invalidDeviceResponse(response, 'interval', `must be a positive number of seconds (at most ${MAX_LIFETIME_SECONDS})`);
    interval = seconds;
  }
  return {
    deviceCode: Secret.of(deviceCode),
    userCode,
    verificationUri,
    ...(verificationUriComplete === undefined ? {} : { verificationUriComplete }),
    expiresAt: Math.round(now + expiresIn * 1000),
    interval,
  };
}

export interface DeviceTokenRequestInput {
  provider: Provider;
  client: ClientConfig;
  secrets: ClientSecrets;
  deviceCode: Secret;
  resource?: string[] | undefined;
  userAgentHeader?: boolean;
}

/** RFC 8628 §3.4: `grant_type=urn:ietf:params:oauth:grant-type:device_code`, `device_code`, `client_id`, to the token endpoint. */
export function buildDeviceTokenRequest(input: DeviceTokenRequestInput): TokenRequest {
  const { provider } = input;
  const secrets = secretsFor('device_code', input.secrets);
  return buildTokenRequest({
    // The grant type's value is the URN, not the grant's key: sent as a parameter of its own.
    provider: { ...provider, token: { ...provider.token, sendsGrantType: false } },
    client: input.client,
    secrets,
    ...(input.userAgentHeader === undefined ? {} : { userAgentHeader: input.userAgentHeader }),
    auth: chooseClientAuth(provider, secrets, input.client),
    grantType: 'device_code',
    params: {
      grant_type: provider.token.sendsGrantType ? DEVICE_CODE_GRANT_TYPE : undefined,
      device_code: revealSecret(input.deviceCode),
      resource: input.resource,
      // client_id comes with the client's authentication (RFC 8628 §3.4: in the body when it does not authenticate).
    },
  });
}

/**
 * RFC 8628 §3.5: the token response, or its error: `authorization_pending` and `slow_down` (keep
 * polling), `expired_token`, `access_denied`, or any other token error.
 */
export function processDeviceTokenResponse(provider: Provider, response: RawResponse, now: number): TokenSet {
  return processTokenResponse(provider, response, now);
}

/** Checks the provider and client, sends the device authorization request, and validates the answer. */
export async function requestDeviceCode(services: Services, secrets: ClientSecrets, input: DeviceAuthorizationInput, signal?: AbortSignal): Promise<StartedDeviceAuthorization> {
  const { provider, auth } = prepareGrant(input.provider, input.client, secrets, 'device_code', { userAgentHeader: services.userAgentHeader });
  requireDeviceAuthorization(provider);
  const scopes = resolveScopes(provider, 'device_code', input.scopes, auth !== 'none');
  const request = buildDeviceAuthorizationRequest({
    provider,
    client: input.client,
    secrets,
    scopes,
    extraParams: input.extraParams,
    resource: checkResource(input.resource),
    userAgentHeader: services.userAgentHeader,
  });
  const response = await sendRequest(services, request, signal);
  return { ...processDeviceAuthorizationResponse(provider, response, services.clock.now()), provider, scopes };
}

export interface PollTokenInput {
  provider: Provider;
  client: ClientConfig;
  deviceCode: Secret;
  scopes: string[];
  /** Where the tokens go, should the actor stop while they are in flight. */
  key?: string | undefined;
  /** The machine's input `resource`, sent again with every poll. */
  resource?: string | string[] | undefined;
}

/** One poll of the token endpoint. */
export async function pollToken(services: Services, secrets: ClientSecrets, input: PollTokenInput, signal?: AbortSignal): Promise<TokenSet> {
  const request = buildDeviceTokenRequest({
    provider: input.provider,
    client: input.client,
    secrets,
    deviceCode: input.deviceCode,
    resource: checkResource(input.resource),
    userAgentHeader: services.userAgentHeader,
  });
  const response = await sendToProvider(services, input.provider, input.client, request, signal);
  const tokens = withRequestedScopes(processDeviceTokenResponse(input.provider, response, services.clock.now()), input.scopes);
  // No nonce in the device grant: an id_token, when the server issues one, is validated all the same.
  return sealTokenSet(await withIdTokenClaims(services, input.provider, input.client.clientId, response, tokens, { required: false }));
}

export interface StoreDeviceTokensInput {
  at: TokenLocation;
  tokens: TokenSet;
}

const location = (input: PollTokenInput): TokenLocation => ({ providerId: input.provider.id, clientId: input.client.clientId, key: input.key });

const errorCode = (error: unknown) => (error instanceof OAuthError ? error.code : undefined);

/** The named implementations of deviceAuthorizationMachine, over the given services and secrets. */
export function deviceAuthorizationImplementations(services: Services, secrets: ClientSecrets) {
  return {
    actors: {
      requestDeviceCode: fromPromise<StartedDeviceAuthorization, DeviceAuthorizationInput>(async ({ input, signal }) => {
        try {
          return await requestDeviceCode(services, secrets, input, signal);
        } catch (error) {
          throw toOAuthError(error);
        }
      }),
      pollToken: fromPromise<TokenSet, PollTokenInput>(async ({ input, signal }) => {
        try {
          // The answer that carries the tokens uses up the device code: the request is not aborted
          // when the actor stops or is cancelled (the timeout still bounds it), and tokens that
          // arrive then are stored all the same.
          const tokens = await pollToken(services, secrets, input);
          if (signal.aborted) await writeTokens(services, location(input), tokens).catch(() => {});
          return tokens;
        } catch (error) {
          throw toOAuthError(error, 'network_error');
        }
      }),
      storeTokens: fromPromise<void, StoreDeviceTokensInput>(({ input }) => writeTokens(services, input.at, input.tokens)),
    },
    guards: {
      isAuthorizationPending: (_: unknown, params: { error: unknown }) => errorCode(params.error) === 'authorization_pending',
      isSlowDown: (_: unknown, params: { error: unknown }) => errorCode(params.error) === 'slow_down',
      isExpiredToken: (_: unknown, params: { error: unknown }) => errorCode(params.error) === 'expired_token',
      isAccessDenied: (_: unknown, params: { error: unknown }) => errorCode(params.error) === 'access_denied',
      // Asking for a device code, and polling, are safe to repeat: nothing is redeemed until the tokens come back.
      canRetry: ({ context }: { context: DeviceAuthorizationContext }, params: { error: unknown }) => canRetry(params.error, context.attempt + 1, services.retry),
    },
    delays: {
      retryDelay: ({ context }: { context: DeviceAuthorizationContext }) => backoffDelay(context.attempt - 1, services.retry, services.random, context.retryAfterMs),
      // The interval, and after a transient failure a backoff on top (RFC 8628 §3.5: reduce the polling frequency).
      pollInterval: ({ context }: { context: DeviceAuthorizationContext }) =>
        Math.round(context.interval * 1000) + (context.attempt > 0 ? backoffDelay(context.attempt - 1, services.retry, services.random, context.retryAfterMs) : 0),
      deviceCodeLifetime: ({ context }: { context: DeviceAuthorizationContext }) => Math.max(0, (context.expiresAt ?? 0) - services.clock.now()),
    },
  };
}
