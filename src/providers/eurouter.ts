import { defineProvider } from '../provider/parse.js';

/** EUrouter: OpenRouter's shape with PKCE required; the exchange returns a `key` (shown once) and `user_id`. */
export const euRouter = /* @__PURE__ */ defineProvider({
  id: 'eurouter',
  name: 'EUrouter',
  authorization: {
    url: 'https://api.eurouter.ai/api/v1/auth',
    redirectParam: 'callback_url',
    sendsClientId: false,
    sendsResponseType: false,
    sendsScope: false,
    sendsState: false,
    pkce: { support: 'required', methods: ['S256', 'plain'] },
    codeLifetimeMs: 600_000,
  },
  token: {
    url: 'https://api.eurouter.ai/api/v1/auth/keys',
    body: 'json',
    sendsGrantType: false,
    sendsRedirectUri: false,
    sendsClientId: false,
    sendsCodeChallengeMethod: true,
    authMethods: ['none'],
    response: { credential: 'key', expiresIn: null, keep: ['user_id'] },
    statusErrors: { '400': 'invalid_request', '403': 'invalid_grant', '405': 'invalid_request' },
  },
  grants: { authorization_code: {} },
});
