import { tokenRequestMachine } from './token-request-states.js';

/**
 * Client credentials where the client authenticates with private_key_jwt (RFC 7523): each
 * attempt signs a fresh RS256 assertion in `signing`, so a bad key and a server rejection are
 * told apart. The rest is clientCredentialsMachine's states, from the same config.
 */
export const clientAssertionMachine = /* @__PURE__ */ tokenRequestMachine('clientAssertion', 'assertion', 'signing', {
  signing: {
    invoke: {
      src: 'signAssertion',
      id: 'signAssertion',
      input: ({ context }) => context,
      // A key that cannot sign fails here, before any request: not to be confused with a server's refusal.
      onDone: { target: 'requesting', actions: { type: 'assignAssertion', params: ({ event }) => event.output } },
      onError: { target: '#clientAssertion.releasing', actions: { type: 'assignError', params: ({ event }) => ({ error: event.error }) } },
    },
  },
});
