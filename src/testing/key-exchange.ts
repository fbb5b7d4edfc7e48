import {
  CodeStore,
  defaultRandom,
  FakeProviderError,
  json,
  pkceMatches,
  redirectingFake,
  systemClock,
  type FakeOptions,
  type FakeProvider,
  type LoggedRequest,
} from './kit.js';

/**
 * The "PKCE for an API key" shape that OpenRouter and EUrouter share: the user is sent to an
 * auth page with `callback_url` and a code challenge, and the code is exchanged at /auth/keys
 * with a JSON body for a key. What differs between the two is in `KeyExchangeRules`, taken from
 * each document; errors are bare HTTP statuses with a message.
 */
export interface KeyExchangeRules {
  authorizePath: string;
  keysPath: string;
  /** EUrouter requires a challenge; OpenRouter makes it optional. */
  challengeRequired: boolean;
  /** Method assumed when the challenge comes without one. */
  defaultMethod: 'S256' | 'plain';
  /** EUrouter: the verifier and challenge must be 43-128 characters. */
  checkLengths: boolean;
  /** EUrouter: callback_url must be HTTPS, or HTTP on localhost. */
  httpsCallbacks: boolean;
  /** The provider's error body for a status and message. */
  errorBody: (status: number, message: string) => unknown;
  issueKey: (random: (bytes: number) => Uint8Array) => Record<string, unknown>;
}

interface IssuedCode {
  challenge?: string;
  method?: 'S256' | 'plain';
}

export function keyExchangeFake(rules: KeyExchangeRules, options: FakeOptions): FakeProvider {
  const random = options.random ?? defaultRandom;
  const codes = new CodeStore<IssuedCode>(options.clock ?? systemClock, options.codeLifetimeMs ?? 10 * 60_000, random);
  const error = (status: number, message: string) => json(rules.errorBody(status, message), status);

  function authorize(authorizationUrl: string): { redirectUri: string; issued: IssuedCode } {
    const url = new URL(authorizationUrl);
    if (url.pathname !== rules.authorizePath) throw new FakeProviderError(`not the authorization page: ${url.pathname}`);
    const callbackUrl = url.searchParams.get('callback_url');
    if (!callbackUrl) throw new FakeProviderError('callback_url is required');
    let callback: URL;
    try {
      callback = new URL(callbackUrl);
    } catch {
      throw new FakeProviderError('callback_url must be an absolute URL');
    }
    const local = ['localhost', '127.0.0.1', '[::1]'].includes(callback.hostname);
    if (rules.httpsCallbacks && callback.protocol !== 'https:' && !(callback.protocol === 'http:' && local)) {
      throw new FakeProviderError('callback_url must be HTTPS (HTTP only for localhost)');
    }
    const challenge = url.searchParams.get('code_challenge') ?? undefined;
    const method = url.searchParams.get('code_challenge_method') ?? undefined;
    if (rules.challengeRequired && !challenge) throw new FakeProviderError('code_challenge is required');
    if (challenge && rules.checkLengths && (challenge.length < 43 || challenge.length > 128)) {
      throw new FakeProviderError('code_challenge must be 43-128 characters');
    }
    if (method !== undefined && method !== 'S256' && method !== 'plain') throw new FakeProviderError('code_challenge_method must be S256 or plain');
    // No state parameter: whatever state the app put in callback_url comes back inside it.
    return { redirectUri: callbackUrl, issued: challenge ? { challenge, method: (method as 'S256' | 'plain' | undefined) ?? rules.defaultMethod } : {} };
  }

  async function keys(request: Request, logged: LoggedRequest): Promise<Response> {
    if (request.method !== 'POST') return error(405, 'Method Not Allowed');
    const body = logged.body as Record<string, unknown>;
    const used = codes.consume(body.code);
    if (!used.ok) return error(403, 'Invalid code or code_verifier');
    const { challenge, method } = used.data;
    if (challenge !== undefined) {
      if (body.code_challenge_method !== method) return error(400, 'Invalid code_challenge_method');
      const verifier = body.code_verifier;
      if (typeof verifier !== 'string' || (rules.checkLengths && (verifier.length < 43 || verifier.length > 128))) {
        return error(403, 'Invalid code or code_verifier');
      }
      if (!(await pkceMatches(verifier, challenge, method!))) return error(403, 'Invalid code or code_verifier');
    }
    return json(rules.issueKey(random));
  }

  return redirectingFake({
    tokenPath: rules.keysPath,
    token: keys,
    serverError: () => error(500, 'Internal Server Error'),
    authorize,
    issue: ({ issued }) => codes.issue(issued),
  });
}
