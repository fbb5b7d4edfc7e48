import { defineProvider } from '../provider/parse.js';

/**
 * Path of Exile (OAuth 2.1): PKCE S256 for every client, client_secret_post only, a required
 * User-Agent, `account:*` scopes at login and `service:*` scopes for confidential clients only.
 */
export const pathOfExile = /* @__PURE__ */ defineProvider({
  id: 'path-of-exile',
  name: 'Path of Exile',
  docs: 'https://www.pathofexile.com/developer/docs/authorization',
  authorization: {
    url: 'https://www.pathofexile.com/oauth/authorize',
    pkce: { support: 'required', methods: ['S256'] },
  },
  token: {
    url: 'https://www.pathofexile.com/oauth/token',
    authMethods: ['client_secret_post', 'none'],
    response: { keep: ['username', 'sub'] },
  },
  userAgent: { required: true, template: 'OAuth {clientId}/{version} (contact: {contact})' },
  grants: {
    authorization_code: { forbidden: ['service:*'] },
    refresh_token: { forbidden: ['service:*'] },
    client_credentials: { allowed: ['service:*'], confidentialClientsOnly: true },
  },
});
