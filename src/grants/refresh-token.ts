import { sendToProvider } from './session.js';
import { withIdTokenClaims } from './openid.js';
import { checkResource } from '../provider/resource.js';
import { fromCallback, fromPromise, type EventObject } from 'xstate';
import { OAuthError, toOAuthError } from '../errors.js';
import type { Provider } from '../provider/schema.js';
import { buildTokenRequest } from '../provider/token-request.js';
import { processTokenResponse } from '../provider/token-response.js';
import type { ClientConfig, ClientSecrets } from '../secrets.js';
import type { Services } from '../services/types.js';
import { sealTokenSet, type TokenSet } from '../tokens.js';
import { prepareGrant } from './prepare.js';
import { backoffDelay, canRetry, isSafeToRepeat, notRepeated } from './retry.js';
import { isFreshAt } from './refresh-window.js';
import { acquireLock, holdLease, keepLeaseUntil, releaseHeldLock, type LockAttempt } from './lock.js';
import { deleteRefusedTokens, readTokens, writeTokens, type TokenLocation } from './token-store.js';
import type { RefreshTokenInput } from './types.js';

export interface RefreshTokenContext {
  input: RefreshTokenInput;
  provider?: Provider;
  /** This actor's lock token while it holds the refresh lock. */
  lockToken?: string;
  /** Since when (monotonic ms) it waits for another caller's lock. */
  lockWaitingSince?: number;
  stored?: TokenSet;
  result?: TokenSet;
  refreshed: boolean;
  attempt: number;
  retryAfterMs?: number;
  storageError?: OAuthError;
  error?: OAuthError;
}

export { DEFAULT_REFRESH_WINDOW_MS } from './refresh-window.js';

const location = (context: RefreshTokenContext): TokenLocation => ({
  providerId: context.provider!.id,
  clientId: context.input.client.clientId,
  key: context.input.key,
});

export async function loadTokens(services: Services, context: RefreshTokenContext): Promise<TokenSet> {
  const tokens = await readTokens(services, location(context));
  if (!tokens) {
    throw new OAuthError('reauthorization_required', 'no tokens are stored for this key: authorize first', { field: 'key' });
  }
  return sealTokenSet(tokens);
}

/** Whether the stored set may be returned as it is (not forced, and outside the refresh window). */
export function isFresh(services: Services, context: RefreshTokenContext, tokens: TokenSet): boolean {
  if (context.input.force) return false;
  return isFreshAt(tokens, services.clock.now(), context.input.refreshWindowMs);
}

export interface RefreshRequestInput {
  provider: Provider;
  client: ClientConfig;
  stored: TokenSet;
  scopes?: string[];
  /** RFC 8707 (checkResource). */
  resource?: string | string[] | undefined;
  /** Where the set is stored, and the lock held for it: a request that outlives a stop stores its answer there. */
  key?: string;
  lockToken?: string;
}

/** grant_type=refresh_token as the provider's data says; the answer merged over what was stored. */
export async function refreshTokens(services: Services, secrets: ClientSecrets, input: RefreshRequestInput, signal?: AbortSignal): Promise<TokenSet> {
  const { provider, client, stored } = input;
  if (!stored.refreshToken) {
    throw new OAuthError('reauthorization_required', 'the stored tokens have no refresh token: authorize again', { field: 'tokens.refreshToken' });
  }
  const { auth } = prepareGrant(provider, client, secrets, 'refresh_token', { userAgentHeader: services.userAgentHeader });
  const request = buildTokenRequest({
    provider,
    client,
    secrets,
    userAgentHeader: services.userAgentHeader,
    auth,
    grantType: 'refresh_token',
    params: {
      refresh_token: stored.refreshToken,
      scope: input.scopes && input.scopes.length > 0 ? input.scopes.join(' ') : undefined,
      resource: checkResource(input.resource),
    },
  });
  const response = await sendToProvider(services, provider, client, request, signal);
  // OIDC Core §12.2: a new id_token must name the same user as the one it replaces.
  const fresh = await withIdTokenClaims(services, provider, client.clientId, response, processTokenResponse(provider, response, services.clock.now()), {
    required: false,
    previous: stored.idTokenClaims,
  });
  // RFC 6749 §6: no new refresh token means the old one stays valid; no scope means the same scope.
  return sealTokenSet({
    ...fresh,
    ...(fresh.refreshToken === undefined ? { refreshToken: stored.refreshToken } : {}),
    ...(fresh.scopes === undefined && stored.scopes !== undefined ? { scopes: [...stored.scopes] } : {}),
    extra: { ...stored.extra, ...fresh.extra },
  });
}

/**
 * Whether a failed refresh may be repeated. A refresh that may have reached the server may have
 * used up a single-use refresh token, so it is repeated only when it cannot have been processed
 * (isSafeToRepeat) or the provider says its refresh tokens are reusable.
 */
export function canRetryRefresh(services: Services, context: RefreshTokenContext, error: unknown): boolean {
  if (!canRetry(error, context.attempt + 1, services.retry)) return false;
  return context.provider!.token.refreshTokensReusable || isSafeToRepeat(context.provider!, error);
}

/** The final error of a refresh: `invalid_grant` means authorize again; an unretried transient says why. */
export function refreshFailure(provider: Provider, error: unknown): OAuthError {
  const cause = toOAuthError(error, 'network_error');
  if (cause.code === 'invalid_grant') {
    return new OAuthError('reauthorization_required', `the refresh token was refused (invalid_grant${cause.description ? `: ${cause.description}` : ''}); authorize again`, {
      ...(cause.status === undefined ? {} : { status: cause.status }),
      cause,
    });
  }
  if (!provider.token.refreshTokensReusable && !isSafeToRepeat(provider, cause)) {
    return notRepeated(cause, `the request may have reached the server, and provider "${provider.id}" refresh tokens are single-use`);
  }
  return cause;
}

/** The named implementations of refreshTokenMachine, over the given services and secrets. */
export function refreshTokenImplementations(services: Services, secrets: ClientSecrets) {
  return {
    actors: {
      prepareRefresh: fromPromise<Provider, RefreshTokenInput>(async ({ input }) => {
        try {
          return prepareGrant(input.provider, input.client, secrets, 'refresh_token', { userAgentHeader: services.userAgentHeader }).provider;
        } catch (error) {
          throw toOAuthError(error);
        }
      }),
      holdLock: fromCallback<EventObject, RefreshTokenContext>(({ input }) => holdLease(services, location(input), input.lockToken)),
      acquireLock: fromPromise<LockAttempt, RefreshTokenContext>(({ input }) => acquireLock(services, location(input), input.lockWaitingSince)),
      loadTokens: fromPromise<TokenSet, RefreshTokenContext>(({ input }) => loadTokens(services, input)),
      refreshTokens: fromPromise<TokenSet, RefreshRequestInput>(async ({ input, signal }) => {
        // A single-use refresh token, once sent, may be used up: the request is not aborted when the
        // actor stops (the timeout still bounds it), and its answer is stored under the lock all the same.
        const reusable = input.provider.token.refreshTokensReusable;
        const pending = refreshTokens(services, secrets, input, reusable ? signal : undefined);
        if (!reusable) {
          const at: TokenLocation = { providerId: input.provider.id, clientId: input.client.clientId, key: input.key };
          signal.addEventListener('abort', () => keepLeaseUntil(services, at, input.lockToken, pending.then((tokens) => writeTokens(services, at, tokens))), { once: true });
        }
        try {
          return await pending;
        } catch (error) {
          throw toOAuthError(error, 'network_error');
        }
      }),
      storeTokens: fromPromise<void, RefreshTokenContext>(({ input, signal }) => {
        // The rotated set must be stored before the lock goes: stopped now, the lease is kept until the
        // write settles, or another caller could take the lock, read the old set and reuse its refresh token.
        const writing = writeTokens(services, location(input), input.result!);
        signal.addEventListener('abort', () => keepLeaseUntil(services, location(input), input.lockToken, writing), { once: true });
        return writing;
      }),
      // Only the set whose refresh token was refused: one another caller stored meanwhile is kept.
      discardTokens: fromPromise<void, RefreshTokenContext>(async ({ input }) => {
        await deleteRefusedTokens(services, location(input), input.stored?.refreshToken);
      }),
      releaseLock: fromPromise<void, RefreshTokenContext>(({ input }) => releaseHeldLock(services, location(input), input.lockToken)),
    },
    guards: {
      isLockAcquired: (_: unknown, params: { acquired: boolean }) => params.acquired,
      isFresh: ({ context }: { context: RefreshTokenContext }, params: { tokens: TokenSet }) => isFresh(services, context, params.tokens),
      isInvalidGrant: (_: unknown, params: { error: unknown }) => toOAuthError(params.error).code === 'invalid_grant',
      canRetry: ({ context }: { context: RefreshTokenContext }, params: { error: unknown }) => canRetryRefresh(services, context, params.error),
      hasError: ({ context }: { context: RefreshTokenContext }) => context.error !== undefined,
    },
    delays: {
      retryDelay: ({ context }: { context: RefreshTokenContext }) => backoffDelay(context.attempt - 1, services.retry, services.random, context.retryAfterMs),
      lockPollInterval: () => services.lock.pollIntervalMs,
    },
  };
}
