import type { ClientCredentialsContext, PreparedClientCredentials } from '../src/grants/client-credentials.js';
import type { GrantOutput } from '../src/grants/types.js';
import { toOAuthError } from '../src/errors.js';
import type { TokenSet } from '../src/tokens.js';

type Done<T> = { event: { output: T } };
type Failed = { event: { error: unknown } };

/**
 * The states clientCredentialsMachine and clientAssertionMachine share — one config, so the two
 * cannot drift apart: prepare, lock, reuse a fresh cached token, request (with retries), store,
 * release. `attempt` is where each request attempt starts: `requesting`, or `signing` for the
 * assertion grant (an assertion's jti is single-use, so every attempt signs anew).
 */
export function tokenRequestStates<TAttempt extends 'requesting' | 'signing'>(attempt: TAttempt) {
  return {
    preparing: {
      invoke: {
        src: 'prepareRequest',
        id: 'prepareRequest',
        input: ({ context }: { context: ClientCredentialsContext }) => context.input,
        onDone: { target: 'locking', actions: { type: 'assignPrepared', params: ({ event }: Done<PreparedClientCredentials>) => event.output } },
        onError: { target: 'failed', actions: { type: 'assignError', params: ({ event }: Failed) => ({ error: event.error }) } },
      },
    },
    locking: {
      invoke: {
        src: 'acquireLock',
        id: 'acquireLock',
        input: ({ context }: { context: ClientCredentialsContext }) => context,
        onDone: [
          {
            guard: { type: 'isLockAcquired', params: ({ event }: Done<{ acquired: boolean }>) => event.output },
            target: 'loading',
            actions: { type: 'assignLock', params: ({ event }: Done<{ lockToken?: string }>) => event.output },
          },
          { target: 'awaitingLock' },
        ],
        onError: { target: 'failed', actions: { type: 'assignError', params: ({ event }: Failed) => ({ error: event.error }) } },
      },
    },
    // Another caller is requesting the same token: look again shortly, then reuse what it stored.
    awaitingLock: {
      after: { lockPollInterval: 'locking' },
    },
    loading: {
      invoke: {
        src: 'loadCachedToken',
        id: 'loadCachedToken',
        input: ({ context }: { context: ClientCredentialsContext }) => context,
        onDone: [
          {
            guard: { type: 'isCachedFresh', params: ({ event }: Done<TokenSet | null>) => ({ tokens: event.output }) },
            target: 'releasing',
            actions: { type: 'assignCached', params: ({ event }: Done<TokenSet>) => event.output },
          },
          { target: attempt },
        ],
        // An unreadable cache is no reason to fail: ask the server.
        onError: { target: attempt },
      },
    },
    requesting: {
      invoke: {
        src: 'requestToken',
        id: 'requestToken',
        input: ({ context }: { context: ClientCredentialsContext }) => context,
        onDone: { target: 'storing', actions: { type: 'assignResult', params: ({ event }: Done<TokenSet>) => event.output } },
        onError: [
          { guard: { type: 'canRetry', params: ({ event }: Failed) => ({ error: event.error }) }, target: 'waitingToRetry', actions: { type: 'assignRetry', params: ({ event }: Failed) => ({ error: event.error }) } },
          { target: 'releasing', actions: { type: 'assignError', params: ({ event }: Failed) => ({ error: event.error }) } },
        ],
      },
    },
    waitingToRetry: {
      after: { retryDelay: attempt },
    },
    storing: {
      invoke: {
        src: 'storeTokens',
        id: 'storeTokens',
        input: ({ context }: { context: ClientCredentialsContext }) => context,
        onDone: { target: 'releasing' },
        onError: { target: 'releasing', actions: { type: 'assignStorageError', params: ({ event }: Failed) => ({ error: event.error }) } },
      },
    },
    releasing: {
      invoke: {
        src: 'releaseLock',
        id: 'releaseLock',
        input: ({ context }: { context: ClientCredentialsContext }) => context,
        onDone: [{ guard: 'hasError', target: 'failed' }, { target: 'succeeded' }],
        onError: [{ guard: 'hasError', target: 'failed' }, { target: 'succeeded' }],
      },
    },
    succeeded: {
      type: 'final' as const,
      output: ({ context }: { context: ClientCredentialsContext }): GrantOutput => ({
        status: 'succeeded',
        tokens: context.result!,
        refreshed: !context.cached,
        ...(context.storageError ? { storageError: context.storageError } : {}),
      }),
    },
    failed: {
      type: 'final' as const,
      output: ({ context }: { context: ClientCredentialsContext }): GrantOutput => ({ status: 'failed', error: toOAuthError(context.error) }),
    },
  };
}
