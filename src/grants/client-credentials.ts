import { sendToProvider } from './session.js';
import { checkResource } from '../provider/resource.js';
import { fromCallback, fromPromise, type EventObject } from 'xstate';
import { importSigningKey, signClientAssertion } from '../crypto/client-assertion.js';
import { OAuthError, toOAuthError } from '../errors.js';
import type { ClientAuthMethod, Provider } from '../provider/schema.js';
import { resolveScopes } from '../provider/scopes.js';
import { buildTokenRequest } from '../provider/token-request.js';
import { processTokenResponse } from '../provider/token-response.js';
import type { ClientSecrets } from '../secrets.js';
import type { Services } from '../services/types.js';
import { revealSecret, Secret } from '../secret.js';
import { sealTokenSet, withRequestedScopes, type TokenSet } from '../tokens.js';
import { acquireLock, holdLease, releaseHeldLock, type LockAttempt } from './lock.js';
import type { UserAgentOptions } from '../provider/user-agent.js';
import { prepareGrant } from './prepare.js';
import { isFreshAt } from './refresh-window.js';
import { backoffDelay, canRetry } from './retry.js';
import { readTokens, writeTokens, type TokenLocation } from './token-store.js';
import type { ClientCredentialsInput } from './types.js';

/** What both server-to-server grants hold: the clientCredentials and clientAssertion machines share it. */
export interface ClientCredentialsContext {
  input: ClientCredentialsInput;
  provider?: Provider;
  auth?: ClientAuthMethod;
  scopes?: string[];
  lockToken?: string;
  /** Since when (monotonic ms) it waits for another caller's lock. */
  lockWaitingSince?: number;
  /** The signed client assertion of the current attempt (clientAssertion only; never reused: its jti is single-use). */
  assertion?: Secret;
  result?: TokenSet;
  /** Whether the result came from the cache rather than a request. */
  cached: boolean;
  attempt: number;
  retryAfterMs?: number;
  storageError?: OAuthError;
  error?: OAuthError;
}

export interface PreparedClientCredentials {
  provider: Provider;
  auth: ClientAuthMethod;
  scopes: string[];
}

/** Scopes and resources (RFC 8707) both shape the token, so both are in the default cache key. */
function cacheKeyOf(context: ClientCredentialsContext): string {
  const resource = checkResource(context.input.resource);
  return resource ? `${context.scopes!.join(' ')}|${[...resource].sort().join(' ')}` : context.scopes!.join(' ');
}

/** The cache of a token per scope set and resources (or per the caller's key). */
export const cacheLocation = (context: ClientCredentialsContext): TokenLocation => ({
  providerId: context.provider!.id,
  clientId: context.input.client.clientId,
  key: `client_credentials:${context.input.key ?? cacheKeyOf(context)}`,
});

/**
 * Checks before anything is sent: the provider supports client credentials, the client is
 * confidential (Path of Exile: confidential only), and the scopes fit this grant's rules.
 * `method` is the kind of credential the machine uses: a secret, or a signed assertion.
 */
export function prepareClientCredentials(input: ClientCredentialsInput, secrets: ClientSecrets, method: 'secret' | 'assertion', userAgent: UserAgentOptions = {}): PreparedClientCredentials {
  const relevant: ClientSecrets = method === 'secret' ? { ...secrets, privateKey: undefined } : { ...secrets, clientSecret: undefined };
  if (method === 'secret' && !secrets.clientSecret) {
    throw new OAuthError('invalid_configuration', 'client credentials with a shared secret need secrets.clientSecret', { field: 'secrets.clientSecret' });
  }
  if (method === 'assertion' && secrets.privateKey === undefined) {
    throw new OAuthError('invalid_configuration', 'a client assertion needs secrets.privateKey (PKCS#8 PEM, JWK or CryptoKey)', { field: 'secrets.privateKey' });
  }
  const { provider, auth } = prepareGrant(input.provider, input.client, relevant, 'client_credentials', userAgent);
  if (method === 'assertion' && auth !== 'private_key_jwt') {
    throw new OAuthError('invalid_configuration', `provider "${provider.id}" does not accept private_key_jwt (token.authMethods: ${provider.token.authMethods.join(', ')})`, {
      field: 'provider.token.authMethods',
    });
  }
  const scopes = resolveScopes(provider, 'client_credentials', input.scopes, true).sort();
  checkResource(input.resource);
  return { provider, auth, scopes };
}

export function isCachedFresh(services: Services, context: ClientCredentialsContext, tokens: TokenSet | undefined): boolean {
  if (!tokens || context.input.force) return false;
  return isFreshAt(tokens, services.clock.now(), context.input.refreshWindowMs);
}

export function assertionAudience(provider: Provider): string {
  return provider.token.assertionAudience === 'issuer' ? provider.issuer! : provider.token.url;
}

/** grant_type=client_credentials, authenticated as the provider's data and the secrets say. */
export async function requestToken(services: Services, secrets: ClientSecrets, context: ClientCredentialsContext, signal?: AbortSignal): Promise<TokenSet> {
  const provider = context.provider!;
  const request = buildTokenRequest({
    provider,
    client: context.input.client,
    secrets,
    userAgentHeader: services.userAgentHeader,
    auth: context.auth!,
    grantType: 'client_credentials',
    params: { scope: context.scopes!.length > 0 ? context.scopes!.join(' ') : undefined, resource: checkResource(context.input.resource) },
    ...(context.assertion === undefined ? {} : { assertion: revealSecret(context.assertion) }),
  });
  const response = await sendToProvider(services, provider, context.input.client, request, signal);
  return sealTokenSet(withRequestedScopes(processTokenResponse(provider, response, services.clock.now()), context.scopes!));
}

/** The named implementations shared by clientCredentialsMachine and clientAssertionMachine. */
export function clientCredentialsImplementations(services: Services, secrets: ClientSecrets, method: 'secret' | 'assertion' = 'secret') {
  // The private key is imported once per provided machine, then reused for every assertion.
  let signingKey: Promise<CryptoKey> | undefined;
  const key = () => {
    signingKey ??= importSigningKey(secrets.privateKey!);
    signingKey.catch(() => (signingKey = undefined));
    return signingKey;
  };
  return {
    actors: {
      prepareRequest: fromPromise<PreparedClientCredentials, ClientCredentialsInput>(async ({ input }) => {
        try {
          return prepareClientCredentials(input, secrets, method, { userAgentHeader: services.userAgentHeader });
        } catch (error) {
          throw toOAuthError(error);
        }
      }),
      holdLock: fromCallback<EventObject, ClientCredentialsContext>(({ input }) => holdLease(services, cacheLocation(input), input.lockToken)),
      acquireLock: fromPromise<LockAttempt, ClientCredentialsContext>(({ input }) => acquireLock(services, cacheLocation(input), input.lockWaitingSince)),
      loadCachedToken: fromPromise<TokenSet | null, ClientCredentialsContext>(async ({ input }) => {
        const cached = await readTokens(services, cacheLocation(input));
        return cached ? sealTokenSet(cached) : null;
      }),
      signAssertion: fromPromise<Secret, ClientCredentialsContext>(async ({ input }) => {
        try {
          return Secret.of(await signClientAssertion(await key(), {
            clientId: input.input.client.clientId,
            audience: assertionAudience(input.provider!),
            now: services.clock.now(),
            random: services.random,
            ...(secrets.keyId === undefined ? {} : { keyId: secrets.keyId }),
          }));
        } catch (error) {
          throw toOAuthError(error);
        }
      }),
      requestToken: fromPromise<TokenSet, ClientCredentialsContext>(async ({ input, signal }) => {
        try {
          return await requestToken(services, secrets, input, signal);
        } catch (error) {
          throw toOAuthError(error, 'network_error');
        }
      }),
      storeTokens: fromPromise<void, ClientCredentialsContext>(({ input }) => writeTokens(services, cacheLocation(input), input.result!)),
      releaseLock: fromPromise<void, ClientCredentialsContext>(({ input }) => releaseHeldLock(services, cacheLocation(input), input.lockToken)),
    },
    guards: {
      isLockAcquired: (_: unknown, params: { acquired: boolean }) => params.acquired,
      isCachedFresh: ({ context }: { context: ClientCredentialsContext }, params: { tokens: TokenSet | null }) =>
        isCachedFresh(services, context, params.tokens ?? undefined),
      // A client credentials request changes nothing on the server: safe to repeat.
      canRetry: ({ context }: { context: ClientCredentialsContext }, params: { error: unknown }) => canRetry(params.error, context.attempt + 1, services.retry),
      hasError: ({ context }: { context: ClientCredentialsContext }) => context.error !== undefined,
    },
    delays: {
      retryDelay: ({ context }: { context: ClientCredentialsContext }) => backoffDelay(context.attempt - 1, services.retry, services.random, context.retryAfterMs),
      lockPollInterval: () => services.lock.pollIntervalMs,
    },
  };
}

