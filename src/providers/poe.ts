import { defineProvider } from '../provider/parse.js';

/** Sign in with Poe: code + mandatory PKCE S256, returns an `api_key` that may never expire. */
export const poe = /* @__PURE__ */ defineProvider({
  id: 'poe',
  name: 'Poe',
  authorization: {
    url: 'https://poe.com/oauth/authorize',
    pkce: { support: 'required', methods: ['S256'] },
  },
  token: {
    url: 'https://api.poe.com/token',
    authMethods: ['none'],
    response: { credential: 'api_key', expiresIn: 'api_key_expires_in' },
    retryableErrors: ['server_error'],
  },
  grants: {
    authorization_code: { allowed: ['apikey:create'], required: ['apikey:create'] },
  },
});
