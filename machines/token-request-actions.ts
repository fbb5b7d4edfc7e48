import { assign } from 'xstate';
import { OAuthError, toOAuthError } from '../src/errors.js';
import type { ClientCredentialsContext, PreparedClientCredentials } from '../src/grants/client-credentials.js';
import type { Secret } from '../src/secret.js';
import type { TokenSet } from '../src/tokens.js';

/** The context updates of the shared token-request states (pure: no effect on the world). */
export const tokenRequestActions = {
  assignPrepared: assign((_, prepared: PreparedClientCredentials) => prepared),
  assignLock: assign((_, params: { lockToken?: string }) => ({ lockToken: params.lockToken })),
  assignLockWait: assign((_, params: { waitingSince?: number }) => ({ lockWaitingSince: params.waitingSince })),
  assignCached: assign((_, tokens: TokenSet) => ({ result: tokens, cached: true })),
  assignResult: assign((_, tokens: TokenSet) => ({ result: tokens, cached: false })),
  assignAssertion: assign((_, assertion: Secret) => ({ assertion })),
  assignError: assign((_, params: { error: unknown }) => ({ error: toOAuthError(params.error) })),
  assignRetry: assign(({ context }: { context: ClientCredentialsContext }, params: { error: unknown }) => ({
    attempt: context.attempt + 1,
    retryAfterMs: params.error instanceof OAuthError ? params.error.retryAfterMs : undefined,
  })),
  assignStorageError: assign((_, params: { error: unknown }) => ({ storageError: toOAuthError(params.error, 'storage_error') })),
};
