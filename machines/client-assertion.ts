import { setup } from 'xstate';
import { clientCredentialsImplementations, type ClientCredentialsContext } from '../src/grants/client-credentials.js';
import type { ClientCredentialsInput, GrantOutput } from '../src/grants/types.js';
import { resolveServices } from '../src/services/defaults.js';
import { tokenRequestActions } from './token-request-actions.js';
import { tokenRequestStates } from './token-request-states.js';

const defaults = clientCredentialsImplementations(resolveServices(), {}, 'assertion');

/**
 * Client credentials where the client authenticates with private_key_jwt (RFC 7523): each
 * attempt signs a fresh RS256 assertion in `signing`, so a bad key and a server rejection are
 * told apart. The rest is clientCredentialsMachine's states, from the same config.
 */
export const clientAssertionMachine = setup({
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
  id: 'clientAssertion',
  context: ({ input }) => ({ input, attempt: 0, cached: false }),
  initial: 'preparing',
  output: ({ event }) => event.output as GrantOutput,
  states: {
    ...tokenRequestStates('signing'),
    signing: {
      invoke: {
        src: 'signAssertion',
        id: 'signAssertion',
        input: ({ context }: { context: ClientCredentialsContext }) => context,
        // A key that cannot sign fails here, before any request: not to be confused with a server's refusal.
        onDone: { target: 'requesting', actions: { type: 'assignAssertion', params: ({ event }: { event: { output: string } }) => event.output } },
        onError: { target: 'releasing', actions: { type: 'assignError', params: ({ event }: { event: { error: unknown } }) => ({ error: event.error }) } },
      },
    },
  } as {},
});
