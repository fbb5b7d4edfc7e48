import { assign, setup } from 'xstate';
import { OAuthError, toOAuthError } from '../src/errors.js';
import {
  authorizationCodeImplementations,
  callbackOutcome,
  type AuthorizationCodeContext,
  type PreparedAuthorization,
} from '../src/grants/authorization-code.js';
import type { AuthorizationCodeInput, GrantOutput } from '../src/grants/types.js';
import { grantMachine } from '../src/provide-services.js';
import { resolveServices } from '../src/services/defaults.js';
import type { Secret } from '../src/secret.js';
import type { TokenSet } from '../src/tokens.js';

/** `url` is the full callback URL or its query string; wrap it with `secret()` so no inspector sees the code. */
export type AuthorizationCodeEvent = { type: 'callback'; url: string | Secret } | { type: 'cancel' };

/** Platform defaults; provideServices() swaps in the app's services and secrets. */
const defaults = /* @__PURE__ */ authorizationCodeImplementations(/* @__PURE__ */ resolveServices(), {});

/**
 * Authorization code + PKCE. The flow only: every effect is a named actor, guard or delay
 * implemented in src/grants/authorization-code.ts.
 */
export const authorizationCodeMachine = /* @__PURE__ */ grantMachine(
  /* @__PURE__ */ setup({
    types: {
      input: {} as AuthorizationCodeInput,
      context: {} as AuthorizationCodeContext,
      events: {} as AuthorizationCodeEvent,
      output: {} as GrantOutput,
    },
    actors: defaults.actors,
    guards: defaults.guards,
    delays: defaults.delays,
    actions: {
      assignPrepared: assign((_, prepared: PreparedAuthorization) => ({
        flow: prepared.flow,
        authorizationUrl: prepared.authorizationUrl,
        state: prepared.flow.state,
      })),
      assignCode: assign({ code: ({ context, event }) => callbackOutcome(context, event).code }),
      assignCallbackError: assign({ error: ({ context, event }) => callbackOutcome(context, event).error }),
      assignError: assign({ error: (_, params: { error: unknown }) => toOAuthError(params.error) }),
      assignRetry: assign({
        attempt: ({ context }) => context.attempt + 1,
        retryAfterMs: (_, params: { error: unknown }) => (params.error instanceof OAuthError ? params.error.retryAfterMs : undefined),
      }),
      assignTokens: assign({ tokens: (_, tokens: TokenSet) => tokens }),
      assignStorageError: assign({ storageError: (_, params: { error: unknown }) => toOAuthError(params.error, 'storage_error') }),
    },
  }).createMachine({
    id: 'authorizationCode',
    context: ({ input }) => ({ input, attempt: 0 }),
    initial: 'preparing',
    // The machine's output is its final state's output (each final state declares one).
    output: ({ event }) => event.output as GrantOutput,
    states: {
      preparing: {
        invoke: {
          src: 'prepareAuthorization',
          id: 'prepareAuthorization',
          input: ({ context }) => context,
          onDone: { target: 'awaitingCallback', actions: { type: 'assignPrepared', params: ({ event }) => event.output } },
          onError: { target: 'failed', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
        },
        on: { cancel: 'cancelled' },
      },
      awaitingCallback: {
        after: { codeLifetime: 'expired' },
        on: {
          callback: [
            { guard: 'isFlowExpired', target: 'expired' },
            { guard: 'isCallbackInvalid', target: 'failed', actions: 'assignCallbackError' },
            { target: 'exchanging', actions: 'assignCode' },
          ],
          cancel: 'cancelled',
        },
      },
      exchanging: {
        invoke: {
          src: 'exchangeCode',
          id: 'exchangeCode',
          input: ({ context }) => ({ flow: context.flow!, client: context.input.client, code: context.code!, key: context.input.key }),
          onDone: { target: 'storing', actions: { type: 'assignTokens', params: ({ event }) => event.output } },
          onError: [
            { guard: 'canRetry', target: 'waitingToRetry', actions: { type: 'assignRetry', params: ({ event }) => ({ error: event.error }) } },
            { target: 'failed', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
          ],
        },
        on: { cancel: 'cancelled' },
      },
      waitingToRetry: {
        after: { retryDelay: 'exchanging' },
        on: { cancel: 'cancelled' },
      },
      // No cancel here: the tokens were issued, so they are stored and returned whatever happens.
      storing: {
        invoke: {
          src: 'storeTokens',
          id: 'storeTokens',
          input: ({ context }) => ({ flow: context.flow!, clientId: context.input.client.clientId, key: context.input.key, tokens: context.tokens! }),
          onDone: { target: 'succeeded' },
          // The tokens were issued: a key shown once is never lost, so the flow succeeds with the storage error beside it.
          onError: { target: 'succeeded', actions: { type: 'assignStorageError', params: ({ event }) => ({ error: event.error }) } },
        },
      },
      succeeded: {
        type: 'final',
        output: ({ context }): GrantOutput =>
          context.storageError ? { status: 'succeeded', tokens: context.tokens!, storageError: context.storageError } : { status: 'succeeded', tokens: context.tokens! },
      },
      failed: {
        type: 'final',
        output: ({ context }): GrantOutput => ({ status: 'failed', error: toOAuthError(context.error) }),
      },
      cancelled: {
        type: 'final',
        output: (): GrantOutput => ({ status: 'cancelled', error: new OAuthError('cancelled', 'the flow was cancelled') }),
      },
      expired: {
        type: 'final',
        output: ({ context }): GrantOutput => ({
          status: 'expired',
          error: new OAuthError('flow_expired', `no callback within the code lifetime (${context.flow?.provider.authorization?.codeLifetimeMs ?? 0} ms)`),
        }),
      },
    },
  }),
  authorizationCodeImplementations,
);
