import { assign, setup } from 'xstate';
import { OAuthError, toOAuthError } from '../src/errors.js';
import { clientCredentialsImplementations, type ClientCredentialsContext, type PreparedClientCredentials } from '../src/grants/client-credentials.js';
import type { ClientCredentialsInput, GrantOutput } from '../src/grants/types.js';
import { grantMachine } from '../src/provide-services.js';
import { resolveServices } from '../src/services/defaults.js';
import type { Secret } from '../src/secret.js';
import type { TokenSet } from '../src/tokens.js';

/**
 * The setup both server-to-server machines share: the same types, the same named actors, guards
 * and delays (platform defaults for `method`; provideServices() swaps in the app's), and the same
 * context updates (pure: no effect on the world).
 */
function tokenRequestSetup(method: 'secret' | 'assertion') {
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
    actions: {
      assignPrepared: assign((_, prepared: PreparedClientCredentials) => prepared),
      assignLock: assign((_, params: { lockToken?: string }) => ({ lockToken: params.lockToken })),
      assignLockWait: assign((_, params: { waitingSince?: number }) => ({ lockWaitingSince: params.waitingSince })),
      assignCached: assign((_, tokens: TokenSet) => ({ result: tokens, cached: true })),
      assignResult: assign((_, tokens: TokenSet) => ({ result: tokens, cached: false })),
      assignAssertion: assign((_, assertion: Secret) => ({ assertion })),
      assignError: assign((_, params: { error: unknown }) => ({ error: toOAuthError(params.error) })),
      assignRetry: assign(({ context }, params: { error: unknown }) => ({
        attempt: context.attempt + 1,
        retryAfterMs: params.error instanceof OAuthError ? params.error.retryAfterMs : undefined,
      })),
      assignStorageError: assign((_, params: { error: unknown }) => ({ storageError: toOAuthError(params.error, 'storage_error') })),
    },
  });
}

/**
 * A state of the shared setup, such as the assertion grant's `signing`: checked against the same
 * actors, guards, actions and delays as the shared states.
 */
export type TokenRequestStateConfig = Parameters<ReturnType<typeof tokenRequestSetup>['createStateConfig']>[0];

/**
 * Builds one of the two server-to-server machines from the states they share — one config, so
 * the two cannot drift apart: prepare, lock, reuse a fresh cached token, request (with retries),
 * store, release. `held` adds a grant's own states inside `holdingLock` (the assertion grant's
 * `signing`); `attempt` is where each request attempt starts: `requesting`, or `signing` for the
 * assertion grant (an assertion's jti is single-use, so every attempt signs anew).
 *
 * The config is one literal in one `createMachine` call, so each machine's state value is
 * inferred: `snapshot.matches({ holdingLock: 'requesting' })` is checked by the compiler.
 */
export function tokenRequestMachine<
  const TId extends 'clientCredentials' | 'clientAssertion',
  const THeld extends Record<string, TokenRequestStateConfig>,
>(id: TId, method: 'secret' | 'assertion', attempt: 'requesting' | (keyof THeld & string), held: THeld) {
  const releasing = `#${id}.releasing` as const;
  const machine = tokenRequestSetup(method).createMachine({
    id,
    context: ({ input }) => ({ input, attempt: 0, cached: false }),
    initial: 'preparing',
    // The machine's output is its final state's output (each final state declares one).
    output: ({ event }) => event.output as GrantOutput,
    states: {
      preparing: {
        invoke: {
          src: 'prepareRequest',
          id: 'prepareRequest',
          input: ({ context }) => context.input,
          onDone: { target: 'locking', actions: { type: 'assignPrepared', params: ({ event }) => event.output } },
          onError: { target: 'failed', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
        },
      },
      locking: {
        invoke: {
          src: 'acquireLock',
          id: 'acquireLock',
          input: ({ context }) => context,
          onDone: [
            {
              guard: { type: 'isLockAcquired', params: ({ event }) => event.output },
              target: 'holdingLock',
              actions: { type: 'assignLock', params: ({ event }) => event.output },
            },
            { target: 'awaitingLock', actions: { type: 'assignLockWait', params: ({ event }) => event.output } },
          ],
          onError: { target: 'failed', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
        },
      },
      // Another caller is requesting the same token: look again shortly, then reuse what it stored.
      awaitingLock: {
        after: { lockPollInterval: 'locking' },
      },
      // The lock is a lease: renewed while its holder works (see refreshTokenMachine).
      holdingLock: {
        invoke: { src: 'holdLock', id: 'holdLock', input: ({ context }) => context },
        initial: 'loading',
        states: {
          loading: {
            invoke: {
              src: 'loadCachedToken',
              id: 'loadCachedToken',
              input: ({ context }) => context,
              onDone: [
                {
                  guard: { type: 'isCachedFresh', params: ({ event }) => ({ tokens: event.output }) },
                  target: releasing,
                  // isCachedFresh holds only for a stored set, never for null.
                  actions: { type: 'assignCached', params: ({ event }) => event.output! },
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
              input: ({ context }) => context,
              onDone: { target: 'storing', actions: { type: 'assignResult', params: ({ event }) => event.output } },
              onError: [
                {
                  guard: { type: 'canRetry', params: ({ event }) => ({ error: event.error }) },
                  target: 'waitingToRetry',
                  actions: { type: 'assignRetry', params: ({ event }) => ({ error: event.error }) },
                },
                { target: releasing, actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
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
              input: ({ context }) => context,
              onDone: { target: releasing },
              onError: { target: releasing, actions: { type: 'assignStorageError', params: ({ event }) => ({ error: event.error }) } },
            },
          },
          ...held,
        },
      },
      releasing: {
        invoke: {
          src: 'releaseLock',
          id: 'releaseLock',
          input: ({ context }) => context,
          onDone: [{ guard: 'hasError', target: 'failed' }, { target: 'succeeded' }],
          onError: [{ guard: 'hasError', target: 'failed' }, { target: 'succeeded' }],
        },
      },
      succeeded: {
        type: 'final',
        output: ({ context }): GrantOutput => ({
          status: 'succeeded',
          tokens: context.result!,
          refreshed: !context.cached,
          ...(context.storageError ? { storageError: context.storageError } : {}),
        }),
      },
      failed: {
        type: 'final',
        output: ({ context }): GrantOutput => ({ status: 'failed', error: toOAuthError(context.error) }),
      },
    },
  });
  // provideServices() learns this machine's implementations only where the machine is imported.
  return grantMachine(machine, (services, secrets) => clientCredentialsImplementations(services, secrets, method));
}
