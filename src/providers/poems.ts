import { defineProvider } from '../provider/parse.js';

const base = 'https://sandboxapi.poems.com.sg/api-gateway/pspl/auth/1.0/oauth';

/**
 * POEMS API Gateway (sandbox): code grant with the client id and secret as HTTP Basic; client
 * credentials with an RS256-signed assertion. Its document mentions neither PKCE nor scopes:
 * PKCE S256 is sent (an RFC 6749 server ignores it) and any scope is passed through.
 */
export const poems = /* @__PURE__ */ defineProvider({
  id: 'poems',
  name: 'POEMS',
  authorization: {
    url: `${base}/authorize`,
    pkce: { support: 'optional', methods: ['S256'] },
  },
  token: {
    url: `${base}/token`,
    authMethods: ['client_secret_basic', 'private_key_jwt'],
  },
  grants: {
    authorization_code: {},
    refresh_token: {},
    client_credentials: { confidentialClientsOnly: true },
  },
});
