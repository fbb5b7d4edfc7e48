import { assign, setup, type AnyStateMachine } from 'xstate';
import { OAuthError, toOAuthError } from '../src/errors.js';
import { tokenSessionImplementations, type TokenSessionContext } from '../src/grants/token-session.js';
import type { GrantOutput, TokenSessionInput } from '../src/grants/types.js';
import { grantMachine, withImplementations } from '../src/provide-services.js';
import { resolveServices } from '../src/services/defaults.js';
import type { TokenSet } from '../src/tokens.js';
import { refreshTokenMachine } from './refresh-token.js';

export type TokenSessionEvent = { type: 'refresh' } | { type: 'stop' };

const defaults = /* @__PURE__ */ tokenSessionImplementations(/* @__PURE__ */ resolveServices(), {}, refreshTokenMachine);

/**
 * Keeps a stored TokenSet fresh for a long-running app or a browser tab: holds it, and refreshes
 * it (through refreshTokenMachine, so the lock and rotation rules hold) before it expires.
 * `context.tokens` is always the current set. Stopping the actor clears its timer.
 */
export const tokenSessionMachine = /* @__PURE__ */ grantMachine(
  /* @__PURE__ */ setup({
    types: {
      input: {} as TokenSessionInput,
      context: {} as TokenSessionContext,
      events: {} as TokenSessionEvent,
      output: {} as GrantOutput,
    },
    // refreshSession is refreshTokenMachine (as in the defaults), named by its own type so that its
    // input is checked and its output is a GrantOutput.
    actors: { ...defaults.actors, refreshSession: refreshTokenMachine },
    guards: defaults.guards,
    delays: defaults.delays,
    actions: {
      assignTokens: assign({ tokens: (_, tokens: TokenSet) => tokens, attempt: 0 }),
      assignRefreshed: assign({
        tokens: ({ context }, params: { output: GrantOutput }) => (params.output.status === 'succeeded' ? params.output.tokens : context.tokens),
        attempt: 0,
        force: false,
      }),
      countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
      // A `refresh` event refreshes even a fresh token; a scheduled refresh leaves a fresh one (another process's) as it is.
      forceNextRefresh: assign({ force: true }),
      assignError: assign({ error: (_, params: { error: unknown }) => toOAuthError(params.error) }),
      assignRefreshError: assign({ error: (_, params: { output: GrantOutput }) => (params.output.status === 'succeeded' ? undefined : params.output.error) }),
    },
  }).createMachine({
    id: 'tokenSession',
    context: ({ input }) => ({ input, attempt: 0, force: false }),
    initial: 'loading',
    output: ({ event }) => event.output as GrantOutput,
    on: { stop: '.stopped' },
    states: {
      loading: {
        invoke: {
          src: 'loadSession',
          id: 'loadSession',
          input: ({ context }) => context.input,
          onDone: { target: 'active', actions: { type: 'assignTokens', params: ({ event }) => event.output } },
          onError: { target: 'failed', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
        },
      },
      active: {
        after: {
          // A timer longer than setTimeout allows wakes up early: it re-arms until the refresh is due.
          refreshDelay: [{ guard: 'isRefreshDue', target: 'refreshing' }, { target: 'active', reenter: true }],
        },
        on: { refresh: { target: 'refreshing', actions: 'forceNextRefresh' } },
      },
      refreshing: {
        invoke: {
          src: 'refreshSession',
          id: 'refreshSession',
          input: ({ context }) => ({
            provider: context.input.provider,
            client: context.input.client,
            ...(context.input.key === undefined ? {} : { key: context.input.key }),
            ...(context.input.refreshWindowMs === undefined ? {} : { refreshWindowMs: context.input.refreshWindowMs }),
            force: context.force,
          }),
          onDone: [
            { guard: { type: 'isRefreshed', params: ({ event }) => ({ output: event.output }) }, target: 'active', actions: { type: 'assignRefreshed', params: ({ event }) => ({ output: event.output }) } },
            { guard: { type: 'canRetry', params: ({ event }) => ({ output: event.output }) }, target: 'waitingToRetry', actions: 'countAttempt' },
            { target: 'failed', actions: { type: 'assignRefreshError', params: ({ event }) => ({ output: event.output }) } },
          ],
        },
      },
      waitingToRetry: {
        after: { retryDelay: 'refreshing' },
        on: { refresh: { target: 'refreshing', actions: 'forceNextRefresh' } },
      },
      failed: {
        type: 'final',
        output: ({ context }): GrantOutput => ({ status: 'failed', error: toOAuthError(context.error) }),
      },
      stopped: {
        type: 'final',
        output: (): GrantOutput => ({ status: 'cancelled', error: new OAuthError('cancelled', 'the token session was stopped') }),
      },
    },
  }),
  // The session refreshes through its child machine (refreshTokenMachine), given the same services and secrets.
  (services, secrets, machine) =>
    tokenSessionImplementations(services, secrets, withImplementations(machine.implementations.actors.refreshSession as AnyStateMachine, services, secrets)),
);
