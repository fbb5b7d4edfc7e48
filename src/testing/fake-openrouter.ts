import { keyExchangeFake } from './key-exchange.js';
import { randomToken, type FakeOptions, type FakeProvider } from './kit.js';

/**
 * OpenRouter, from its document: openrouter.ai/auth?callback_url=…[&code_challenge=…&code_challenge_method=S256|plain]
 * (the challenge is optional); POST /api/v1/auth/keys with JSON { code, code_verifier, code_challenge_method } → { key }.
 * Errors: 400 Invalid code_challenge_method, 403 Invalid code or code_verifier, 405 Method Not Allowed,
 * in OpenRouter's error shape { error: { code, message } }. No client id, scope or state parameter.
 */
export function fakeOpenRouter(options: FakeOptions = {}): FakeProvider {
  return keyExchangeFake(
    {
      authorizePath: '/auth',
      keysPath: '/api/v1/auth/keys',
      challengeRequired: false,
      defaultMethod: 'plain',
      checkLengths: false,
      httpsCallbacks: false,
      errorBody: (code, message) => ({ error: { code, message } }),
      issueKey: (random) => ({ key: randomToken(random, 'sk-or-v1-', 32) }),
    },
    options,
  );
}
