import { assign, setup } from 'xstate';
import { OAuthError, toOAuthError } from '../src/errors.js';
import { refreshFailure, refreshTokenImplementations, type RefreshTokenContext } from '../src/grants/refresh-token.js';
import type { GrantOutput, RefreshTokenInput } from '../src/grants/types.js';
import type { Provider } from '../src/provider/schema.js';
import { grantMachine } from '../src/provide-services.js';
import { resolveServices } from '../src/services/defaults.js';
import type { TokenSet } from '../src/tokens.js';

/** Platform defaults; provideServices() swaps in the app's services and secrets. */
const defaults = /* @__PURE__ */ refreshTokenImplementations(/* @__PURE__ */ resolveServices(), {});

/**
 * Refresh: under the storage's lock, load the stored TokenSet, refresh it unless another caller
 * just did, store the rotated set before the lock is released, and return it. `invalid_grant`
 * discards the stored set: the user must authorize again.
 */
export const refreshTokenMachine = /* @__PURE__ */ grantMachine(
  /* @__PURE__ */ setup({
    types: {
      input: {} as RefreshTokenInput,
      context: {} as RefreshTokenContext,
      output: {} as GrantOutput,
    },
    actors: defaults.actors,
    guards: defaults.guards,
    delays: defaults.delays,
    actions: {
      assignProvider: assign({ provider: (_, provider: Provider) => provider }),
      assignLock: assign({ lockToken: (_, params: { lockToken?: string }) => params.lockToken }),
      assignLockWait: assign({ lockWaitingSince: (_, params: { waitingSince?: number }) => params.waitingSince }),
      assignStored: assign({ stored: (_, tokens: TokenSet) => tokens }),
      assignFreshResult: assign({ result: (_, tokens: TokenSet) => tokens, refreshed: false }),
      assignRefreshed: assign({ result: (_, tokens: TokenSet) => tokens, refreshed: true }),
      assignError: assign({ error: (_, params: { error: unknown }) => toOAuthError(params.error) }),
      assignRefreshError: assign({ error: ({ context }, params: { error: unknown }) => refreshFailure(context.provider!, params.error) }),
      assignRetry: assign({
        attempt: ({ context }) => context.attempt + 1,
        retryAfterMs: (_, params: { error: unknown }) => (params.error instanceof OAuthError ? params.error.retryAfterMs : undefined),
      }),
      assignStorageError: assign({ storageError: (_, params: { error: unknown }) => toOAuthError(params.error, 'storage_error') }),
    },
  }).createMachine({
    id: 'refreshToken',
    context: ({ input }) => ({ input, attempt: 0, refreshed: false }),
    initial: 'preparing',
    output: ({ event }) => event.output as GrantOutput,
    states: {
      preparing: {
        invoke: {
          src: 'prepareRefresh',
          id: 'prepareRefresh',
          input: ({ context }) => context.input,
          onDone: { target: 'locking', actions: { type: 'assignProvider', params: ({ event }) => event.output } },
          onError: { target: 'failed', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
        },
      },
      locking: {
        invoke: {
          src: 'acquireLock',
          id: 'acquireLock',
          input: ({ context }) => context,
          onDone: [
            { guard: { type: 'isLockAcquired', params: ({ event }) => event.output }, target: 'holdingLock', actions: { type: 'assignLock', params: ({ event }) => event.output } },
            { target: 'awaitingLock', actions: { type: 'assignLockWait', params: ({ event }) => event.output } },
          ],
          onError: { target: 'failed', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
        },
      },
      // Another caller (this process or another) is refreshing: look again shortly; its result will be stored.
      awaitingLock: {
        after: { lockPollInterval: 'locking' },
      },
      // The lock is a lease: renewed while its holder works, so a slow refresh is never overlapped, and
      // it frees itself soon after a holder that dies (lock.ttlMs).
      holdingLock: {
        invoke: { src: 'holdLock', id: 'holdLock', input: ({ context }) => context },
        initial: 'loading',
        states: {
          loading: {
            invoke: {
              src: 'loadTokens',
              id: 'loadTokens',
              input: ({ context }) => context,
              onDone: [
                { guard: { type: 'isFresh', params: ({ event }) => ({ tokens: event.output }) }, target: '#refreshToken.releasing', actions: { type: 'assignFreshResult', params: ({ event }) => event.output } },
                { target: 'refreshing', actions: { type: 'assignStored', params: ({ event }) => event.output } },
              ],
              onError: { target: '#refreshToken.releasing', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
            },
          },
          refreshing: {
            invoke: {
              src: 'refreshTokens',
              id: 'refreshTokens',
              input: ({ context }) => ({
                provider: context.provider!,
                client: context.input.client,
                stored: context.stored!,
                ...(context.input.scopes ? { scopes: context.input.scopes } : {}),
                ...(context.input.resource === undefined ? {} : { resource: context.input.resource }),
                ...(context.input.key === undefined ? {} : { key: context.input.key }),
                ...(context.lockToken === undefined ? {} : { lockToken: context.lockToken }),
              }),
              onDone: { target: 'storing', actions: { type: 'assignRefreshed', params: ({ event }) => event.output } },
              onError: [
                { guard: { type: 'isInvalidGrant', params: ({ event }) => ({ error: event.error }) }, target: 'discarding', actions: { type: 'assignRefreshError', params: ({ event }) => ({ error: event.error }) } },
                { guard: { type: 'canRetry', params: ({ event }) => ({ error: event.error }) }, target: 'waitingToRetry', actions: { type: 'assignRetry', params: ({ event }) => ({ error: event.error }) } },
                { target: '#refreshToken.releasing', actions: { type: 'assignRefreshError', params: ({ event }) => ({ error: event.error }) } },
              ],
            },
          },
          waitingToRetry: {
            after: { retryDelay: 'refreshing' },
          },
          // The refresh token was refused: the stored set is useless, the user must authorize again.
          discarding: {
            invoke: {
              src: 'discardTokens',
              id: 'discardTokens',
              input: ({ context }) => context,
              onDone: { target: '#refreshToken.releasing' },
              onError: { target: '#refreshToken.releasing' },
            },
          },
          // Stored before the lock is released, so no one can use the old (rotated) refresh token.
          storing: {
            invoke: {
              src: 'storeTokens',
              id: 'storeTokens',
              input: ({ context }) => context,
              onDone: { target: '#refreshToken.releasing' },
              onError: { target: '#refreshToken.releasing', actions: { type: 'assignStorageError', params: ({ event }) => ({ error: event.error }) } },
            },
          },
        },
      },
      releasing: {
        invoke: {
          src: 'releaseLock',
          id: 'releaseLock',
          input: ({ context }) => context,
          // A lock that cannot be released frees itself at its TTL: not a reason to fail.
          onDone: [{ guard: 'hasError', target: 'failed' }, { target: 'succeeded' }],
          onError: [{ guard: 'hasError', target: 'failed' }, { target: 'succeeded' }],
        },
      },
      succeeded: {
        type: 'final',
        output: ({ context }): GrantOutput => ({
          status: 'succeeded',
          tokens: context.result!,
          refreshed: context.refreshed,
          ...(context.storageError ? { storageError: context.storageError } : {}),
        }),
      },
      failed: {
        type: 'final',
        output: ({ context }): GrantOutput => ({ status: 'failed', error: toOAuthError(context.error) }),
      },
    },
  }),
  refreshTokenImplementations,
);
