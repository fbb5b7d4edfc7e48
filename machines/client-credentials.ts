import { setup } from 'xstate';
import { clientCredentialsImplementations, type ClientCredentialsContext } from '../src/grants/client-credentials.js';
import type { ClientCredentialsInput, GrantOutput } from '../src/grants/types.js';
import { resolveServices } from '../src/services/defaults.js';
import { tokenRequestActions } from './token-request-actions.js';
import { tokenRequestStates } from './token-request-states.js';

const defaults = clientCredentialsImplementations(resolveServices(), {}, 'secret');

/**
 * Client credentials with a shared secret (client_secret_post or client_secret_basic, as the
 * provider allows). The token is cached in storage and reused until shortly before expiry;
 * concurrent callers share one request.
 */
export const clientCredentialsMachine = setup({
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
  id: 'clientCredentials',
  context: ({ input }) => ({ input, attempt: 0, cached: false }),
  initial: 'preparing',
  output: ({ event }) => event.output as GrantOutput,
  states: tokenRequestStates('requesting') as {},
});
