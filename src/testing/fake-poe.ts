import {
  CodeStore,
  defaultRandom,
  FakeProviderError,
  findClient,
  oauthError,
  json,
  pkceMatches,
  randomToken,
  redirectWith,
  redirectingFake,
  systemClock,
  type FakeOptions,
  type FakeProvider,
  type LoggedRequest,
} from './kit.js';

/**
 * Sign in with Poe, from its document: authorize at poe.com/oauth/authorize with client_id,
 * redirect_uri (exact; localhost ones need no registration), response_type=code,
 * scope=apikey:create, code_challenge + S256 (all required), optional state; exchange at
 * api.poe.com/token, form-encoded, for { api_key, api_key_expires_in }.
 */
const AUTHORIZE_PATH = '/oauth/authorize';
const TOKEN_PATH = '/token';

interface PoeCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  apiKeyExpiresIn: number | null;
}

const isLocalhost = (uri: string) => {
  try {
    const { hostname } = new URL(uri);
    return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
  } catch {
    return false;
  }
};

export function fakePoe(options: FakeOptions = {}): FakeProvider {
  const clients = options.clients ?? [{ clientId: 'poe-test-client', redirectUris: ['http://localhost:3000/callback'] }];
  const random = options.random ?? defaultRandom;
  const codes = new CodeStore<PoeCode>(options.clock ?? systemClock, options.codeLifetimeMs ?? 10 * 60_000, random);

  /** Validates an authorization URL; returns the callback for an error Poe redirects, or the valid request. */
  function authorize(authorizationUrl: string) {
    const url = new URL(authorizationUrl);
    if (url.pathname !== AUTHORIZE_PATH) throw new FakeProviderError(`not Poe's authorization endpoint: ${url.pathname}`);
    const p = url.searchParams;
    const client = findClient(clients, p.get('client_id'));
    if (!client) throw new FakeProviderError('unknown client_id: Poe shows an error page and does not redirect');
    const redirectUri = p.get('redirect_uri');
    if (!redirectUri || (!client.redirectUris.includes(redirectUri) && !isLocalhost(redirectUri))) {
      throw new FakeProviderError('redirect_uri is not registered for this client: Poe does not redirect');
    }
    const state = p.get('state') ?? undefined;
    const fail = (error: string, description: string) => ({ error: redirectWith(redirectUri, { error, error_description: description, state }) });
    if (p.get('response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code');
    if (!p.get('scope')) return fail('invalid_scope', 'scope is required');
    if (p.get('scope') !== 'apikey:create') return fail('invalid_scope', 'scope must be apikey:create');
    if (!p.get('code_challenge')) return fail('invalid_request', 'code_challenge is required');
    if (p.get('code_challenge_method') !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
    return { client, redirectUri, state, challenge: p.get('code_challenge')! };
  }

  async function token(request: Request, logged: LoggedRequest): Promise<Response> {
    if (request.method !== 'POST') return oauthError('invalid_request', 'POST required', 405);
    if (!(logged.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return oauthError('invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
    }
    const b = logged.body as Record<string, string | undefined>;
    if (b.grant_type !== 'authorization_code') {
      return b.grant_type === undefined ? oauthError('invalid_request', 'grant_type is required') : oauthError('unsupported_grant_type', 'grant_type must be authorization_code');
    }
    for (const field of ['client_id', 'code', 'redirect_uri', 'code_verifier'] as const) {
      if (!b[field]) return oauthError('invalid_request', `${field} is required`);
    }
    const used = codes.consume(b.code);
    if (!used.ok) return oauthError('invalid_grant', used.reason === 'expired' ? 'authorization code expired' : 'authorization code is invalid');
    const code = used.data;
    if (code.clientId !== b.client_id || code.redirectUri !== b.redirect_uri) return oauthError('invalid_grant', 'parameter mismatch');
    if (!(await pkceMatches(b.code_verifier!, code.challenge, 'S256'))) return oauthError('invalid_grant', 'PKCE verification failed');
    return json({ api_key: randomToken(random, 'sk-poe-'), api_key_expires_in: code.apiKeyExpiresIn });
  }

  return redirectingFake({
    tokenPath: TOKEN_PATH,
    token,
    serverError: () => oauthError('server_error', 'Internal error — safe to retry', 500),
    authorize,
    issue: (checked, approval) =>
      codes.issue({
        clientId: checked.client.clientId,
        redirectUri: checked.redirectUri,
        challenge: checked.challenge,
        apiKeyExpiresIn: approval.apiKeyExpiresIn === undefined ? 30 * 24 * 3600 : approval.apiKeyExpiresIn,
      }),
    denyDescription: 'The user clicked "Deny"',
  });
}
