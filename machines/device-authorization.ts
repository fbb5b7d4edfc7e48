import { assign, setup } from 'xstate';
import { OAuthError, toOAuthError } from '../src/errors.js';
import {
  DEFAULT_POLL_INTERVAL_SECONDS,
  deviceAuthorizationImplementations,
  SLOW_DOWN_SECONDS,
  type DeviceAuthorizationContext,
  type StartedDeviceAuthorization,
} from '../src/grants/device-authorization.js';
import type { DeviceAuthorizationInput, GrantOutput } from '../src/grants/types.js';
import { grantMachine } from '../src/provide-services.js';
import { resolveServices } from '../src/services/defaults.js';
import type { TokenSet } from '../src/tokens.js';

export type DeviceAuthorizationEvent = { type: 'cancel' };

/** Platform defaults; provideServices() swaps in the app's services and secrets. */
const defaults = /* @__PURE__ */ deviceAuthorizationImplementations(/* @__PURE__ */ resolveServices(), {});

/**
 * The device authorization grant (RFC 8628): ask for a device code, show the user code and the
 * verification URI (`context.userCode`, `context.verificationUri`, `context.verificationUriComplete`),
 * and poll the token endpoint every `context.interval` seconds until the user approves on another
 * device, refuses, or the code expires. The flow only: every effect is a named actor, guard or
 * delay implemented in src/grants/device-authorization.ts.
 */
export const deviceAuthorizationMachine = /* @__PURE__ */ grantMachine(
  /* @__PURE__ */ setup({
    types: {
      input: {} as DeviceAuthorizationInput,
      context: {} as DeviceAuthorizationContext,
      events: {} as DeviceAuthorizationEvent,
      output: {} as GrantOutput,
    },
    actors: defaults.actors,
    guards: defaults.guards,
    delays: defaults.delays,
    actions: {
      assignStarted: assign((_, started: StartedDeviceAuthorization) => ({
        provider: started.provider,
        scopes: started.scopes,
        deviceCode: started.deviceCode,
        userCode: started.userCode,
        verificationUri: started.verificationUri,
        ...(started.verificationUriComplete === undefined ? {} : { verificationUriComplete: started.verificationUriComplete }),
        expiresAt: started.expiresAt,
        interval: started.interval,
        attempt: 0,
        retryAfterMs: undefined,
      })),
      // The user has not answered yet: poll again at the interval.
      assignPending: assign({ attempt: 0, retryAfterMs: undefined }),
      // RFC 8628 §3.5: slow_down adds 5 seconds to the interval, for this and every later poll.
      assignSlowDown: assign({ interval: ({ context }) => context.interval + SLOW_DOWN_SECONDS, attempt: 0, retryAfterMs: undefined }),
      assignRetry: assign({
        attempt: ({ context }) => context.attempt + 1,
        retryAfterMs: (_, params: { error: unknown }) => (params.error instanceof OAuthError ? params.error.retryAfterMs : undefined),
      }),
      assignError: assign({ error: (_, params: { error: unknown }) => toOAuthError(params.error) }),
      assignTokens: assign({ tokens: (_, tokens: TokenSet) => tokens }),
      assignStorageError: assign({ storageError: (_, params: { error: unknown }) => toOAuthError(params.error, 'storage_error') }),
    },
  }).createMachine({
    id: 'deviceAuthorization',
    context: ({ input }) => ({ input, interval: DEFAULT_POLL_INTERVAL_SECONDS, attempt: 0 }),
    initial: 'requestingCode',
    // The machine's output is its final state's output (each final state declares one).
    output: ({ event }) => event.output as GrantOutput,
    states: {
      requestingCode: {
        invoke: {
          src: 'requestDeviceCode',
          id: 'requestDeviceCode',
          input: ({ context }) => context.input,
          onDone: { target: 'awaitingUser', actions: { type: 'assignStarted', params: ({ event }) => event.output } },
          onError: [
            // A new device code is asked for: nothing was shown to the user yet, so this is safe to repeat.
            { guard: { type: 'canRetry', params: ({ event }) => ({ error: event.error }) }, target: 'waitingToRetry', actions: { type: 'assignRetry', params: ({ event }) => ({ error: event.error }) } },
            { target: 'failed', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
          ],
        },
        on: { cancel: 'cancelled' },
      },
      waitingToRetry: {
        after: { retryDelay: 'requestingCode' },
        on: { cancel: 'cancelled' },
      },
      // The app shows context.userCode and context.verificationUri(Complete); the user approves elsewhere.
      awaitingUser: {
        after: { deviceCodeLifetime: 'expired', pollInterval: 'polling' },
        on: { cancel: 'cancelled' },
      },
      polling: {
        invoke: {
          src: 'pollToken',
          id: 'pollToken',
          input: ({ context }) => ({
            provider: context.provider!,
            client: context.input.client,
            deviceCode: context.deviceCode!,
            scopes: context.scopes ?? [],
            key: context.input.key,
            resource: context.input.resource,
          }),
          onDone: { target: 'storing', actions: { type: 'assignTokens', params: ({ event }) => event.output } },
          onError: [
            { guard: { type: 'isAuthorizationPending', params: ({ event }) => ({ error: event.error }) }, target: 'awaitingUser', actions: 'assignPending' },
            { guard: { type: 'isSlowDown', params: ({ event }) => ({ error: event.error }) }, target: 'awaitingUser', actions: 'assignSlowDown' },
            { guard: { type: 'isExpiredToken', params: ({ event }) => ({ error: event.error }) }, target: 'expired', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
            { guard: { type: 'isAccessDenied', params: ({ event }) => ({ error: event.error }) }, target: 'failed', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
            // Polling is idempotent until it succeeds: a transient failure polls again, later.
            { guard: { type: 'canRetry', params: ({ event }) => ({ error: event.error }) }, target: 'awaitingUser', actions: { type: 'assignRetry', params: ({ event }) => ({ error: event.error }) } },
            { target: 'failed', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
          ],
        },
        on: { cancel: 'cancelled' },
      },
      // No cancel here: the tokens were issued, so they are stored and returned whatever happens.
      storing: {
        invoke: {
          src: 'storeTokens',
          id: 'storeTokens',
          input: ({ context }) => ({ at: { providerId: context.provider!.id, clientId: context.input.client.clientId, key: context.input.key }, tokens: context.tokens! }),
          onDone: { target: 'succeeded' },
          // The tokens were issued: they are never lost, so the flow succeeds with the storage error beside them.
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
      // The server said expired_token, or the device code's lifetime (expires_in) ran out first.
      expired: {
        type: 'final',
        output: ({ context }): GrantOutput => ({
          status: 'expired',
          error:
            context.error ??
            new OAuthError('expired_token', `the device code expired (at ${new Date(context.expiresAt ?? 0).toISOString()}) before the user approved`),
        }),
      },
    },
  }),
  deviceAuthorizationImplementations,
);
