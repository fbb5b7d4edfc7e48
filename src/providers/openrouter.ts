import { defineProvider } from '../provider/parse.js';

/** OpenRouter: `callback_url`, no client id, scope or state; JSON exchange at /auth/keys returning a `key`. */
export const openRouter = /* @__PURE__ */ defineProvider({
  id: 'openrouter',
  name: 'OpenRouter',
  docs: 'https://openrouter.ai/docs/use-cases/oauth-pkce',
  authorization: {
    url: 'https://openrouter.ai/auth',
    redirectParam: 'callback_url',
    sendsClientId: false,
    sendsResponseType: false,
    sendsScope: false,
    sendsState: false,
    pkce: { support: 'optional', methods: ['S256', 'plain'] },
  },
  token: {
    url: 'https://openrouter.ai/api/v1/auth/keys',
    body: 'json',
    sendsGrantType: false,
    sendsRedirectUri: false,
    sendsClientId: false,
    sendsCodeChallengeMethod: true,
    authMethods: ['none'],
    response: { credential: 'key', expiresIn: null },
    statusErrors: { '400': 'invalid_request', '403': 'invalid_grant', '405': 'invalid_request' },
  },
  grants: { authorization_code: {} },
});
