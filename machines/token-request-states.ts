import { setup } from 'xstate';
import { toOAuthError } from '../src/errors.js';
import { clientCredentialsImplementations, type ClientCredentialsContext, type PreparedClientCredentials } from '../src/grants/client-credentials.js';
import type { ClientCredentialsInput, GrantOutput } from '../src/grants/types.js';
import { resolveServices } from '../src/services/defaults.js';
import type { TokenSet } from '../src/tokens.js';
import { tokenRequestActions } from './token-request-actions.js';

type Done<T> = { event: { output: T } };
type Failed = { event: { error: unknown } };

/**
 * The states clientCredentialsMachine and clientAssertionMachine share — one config, so the two
 * cannot drift apart: prepare, lock, reuse a fresh cached token, request (with retries), store,
 * release. `attempt` is where each request attempt starts: `requesting`, or `signing` for the
 * assertion grant (an assertion's jti is single-use, so every attempt signs anew).
 */
export function tokenRequestStates<TAttempt extends 'requesting' | 'signing'>(machineId: 'clientCredentials' | 'clientAssertion', attempt: TAttempt, held: object = {}) {
  const releasing = `#${machineId}.releasing`;
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
            target: 'holdingLock',
            actions: { type: 'assignLock', params: ({ event }: Done<{ lockToken?: string }>) => event.output },
          },
          { target: 'awaitingLock', actions: { type: 'assignLockWait', params: ({ event }: Done<{ waitingSince?: number }>) => event.output } },
        ],
        onError: { target: 'failed', actions: { type: 'assignError', params: ({ event }: Failed) => ({ error: event.error }) } },
      },
    },
    // Another caller is requesting the same token: look again shortly, then reuse what it stored.
    awaitingLock: {
      after: { lockPollInterval: 'locking' },
    },
    // The lock is a lease: renewed while its holder works (see refreshTokenMachine).
    holdingLock: {
      invoke: { src: 'holdLock', id: 'holdLock', input: ({ context }: { context: ClientCredentialsContext }) => context },
      initial: 'loading',
      states: {
        loading: {
          invoke: {
            src: 'loadCachedToken',
            id: 'loadCachedToken',
            input: ({ context }: { context: ClientCredentialsContext }) => context,
            onDone: [
              {
                guard: { type: 'isCachedFresh', params: ({ event }: Done<TokenSet | null>) => ({ tokens: event.output }) },
                target: releasing,
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
              { target: releasing, actions: { type: 'assignError', params: ({ event }: Failed) => ({ error: event.error }) } },
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
            onDone: { target: releasing },
            onError: { target: releasing, actions: { type: 'assignStorageError', params: ({ event }: Failed) => ({ error: event.error }) } },
          },
        },
        ...held,
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

/**
 * Builds one of the two server-to-server machines from the shared states (and, for the
 * assertion grant, its `signing` state): the same setup, the same named implementations.
 */
export function tokenRequestMachine(id: 'clientCredentials' | 'clientAssertion', method: 'secret' | 'assertion', states: object) {
  const defaults = clientCredentialsImplementations(resolveServices(), {}, method);
  return setup({
    types: {
      input: {} as ClientCredentialsInput,
      context: {} as ClientCredentialsContext,
      output: {} as GrantOutput,
    },
    actors: defaults.actors,
    guards: defaults.guards,
    delays: defaults.delays,
    // The shared actions and states are checked by the model tests; their types are too generic for setup() to infer.
    actions: tokenRequestActions as never,
  }).createMachine({
    id,
    context: ({ input }) => ({ input, attempt: 0, cached: false }),
    initial: 'preparing',
    output: ({ event }) => event.output as GrantOutput,
    states: states as {},
  });
}
