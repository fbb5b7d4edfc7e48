import { tokenRequestMachine } from './token-request-states.js';

/**
 * Client credentials with a shared secret (client_secret_post or client_secret_basic, as the
 * provider allows): prepare → lock → reuse a fresh cached token, or request (with retries) →
 * store → release. The token is cached until shortly before expiry; concurrent callers share
 * one request.
 */
export const clientCredentialsMachine = /* @__PURE__ */ tokenRequestMachine('clientCredentials', 'secret', 'requesting', {});
