import { keyExchangeFake } from './key-exchange.js';
import { randomToken, type FakeOptions, type FakeProvider } from './kit.js';

/**
 * EUrouter, from its document: api.eurouter.ai/api/v1/auth?callback_url=…&code_challenge=…[&code_challenge_method=S256|plain]
 * (challenge required, 43-128 chars; S256 by default; callback HTTPS or http://localhost);
 * POST /api/v1/auth/keys with JSON { code, code_verifier, code_challenge_method } (all required,
 * the method must match) → { key: "eur_….…", user_id }. Codes expire after 10 minutes and are
 * single-use. Errors: 400 Invalid code_challenge_method, 403 Invalid code or code_verifier,
 * 405 Method Not Allowed. The document gives statuses and messages but no body shape: we assume
 * `{ "error": "<message>" }`.
 */
export function fakeEuRouter(options: FakeOptions = {}): FakeProvider {
  return keyExchangeFake(
    {
      authorizePath: '/api/v1/auth',
      keysPath: '/api/v1/auth/keys',
      challengeRequired: true,
      defaultMethod: 'S256',
      checkLengths: true,
      httpsCallbacks: true,
      errorBody: (_status, message) => ({ error: message }),
      issueKey: (random) => ({ key: `${randomToken(random, 'eur_', 6)}.${randomToken(random, '', 24)}`, user_id: crypto.randomUUID() }),
    },
    options,
  );
}
