import {
  CodeStore,
  defaultRandom,
  FakeProviderError,
  findClient,
  json,
  oauthError,
  pkceMatches,
  randomToken,
  redirectWith,
  redirectingFake,
  systemClock,
  type FakeClient,
  type FakeOptions,
  type FakeProvider,
  type LoggedRequest,
} from './kit.js';

/**
 * Path of Exile (OAuth 2.1), from its document: code + PKCE (S256) for public and confidential
 * clients; client_secret_post only (HTTP Basic is refused); a User-Agent
 * `OAuth {clientId}/{version} (contact: {contact})` on token requests (none from a browser: a
 * request with an Origin header and no User-Agent is accepted); `account:*` scopes at
 * login, `service:*` scopes by client credentials for confidential clients only; refresh tokens
 * rotate (a used one is invalid).
 */
const AUTHORIZE_PATH = '/oauth/authorize';
const TOKEN_PATH = '/oauth/token';
const USER_AGENT = /^OAuth ([^/\s]+)\/(\S+) \(contact: (.+)\)/;

export interface PathOfExileFakeOptions extends FakeOptions {
  /** Access token lifetime in seconds (default 10 hours). */
  accessTokenTtlSeconds?: number;
}

interface Grant {
  clientId: string;
  username: string;
  scopes: string[];
}

interface PendingCode extends Grant {
  redirectUri: string;
  challenge: string;
}

export function fakePathOfExile(options: PathOfExileFakeOptions = {}): FakeProvider {
  const clients = options.clients ?? [{ clientId: 'poe-tool', redirectUris: ['http://127.0.0.1:8080/callback'] }];
  const random = options.random ?? defaultRandom;
  const ttl = options.accessTokenTtlSeconds ?? 36_000;
  const codes = new CodeStore<PendingCode>(options.clock ?? systemClock, options.codeLifetimeMs ?? 10 * 60_000, random);
  const refreshTokens = new Map<string, Grant & { valid: boolean }>();

  function authorize(authorizationUrl: string) {
    const url = new URL(authorizationUrl);
    if (url.pathname !== AUTHORIZE_PATH) throw new FakeProviderError(`not the authorization endpoint: ${url.pathname}`);
    const p = url.searchParams;
    const client = findClient(clients, p.get('client_id'));
    if (!client) throw new FakeProviderError('unknown client_id');
    const redirectUri = p.get('redirect_uri');
    if (!redirectUri || !client.redirectUris.includes(redirectUri)) throw new FakeProviderError('redirect_uri does not match a registered one');
    const state = p.get('state') ?? undefined;
    const fail = (error: string, description: string) => ({ error: redirectWith(redirectUri, { error, error_description: description, state }) });
    if (p.get('response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code');
    const scopes = (p.get('scope') ?? '').split(' ').filter(Boolean);
    const service = scopes.find((s) => s.startsWith('service:'));
    if (service) return fail('invalid_scope', `${service} is not issued via user login`);
    if (scopes.some((s) => !s.startsWith('account:'))) return fail('invalid_scope', 'unknown scope');
    if (!p.get('code_challenge') || p.get('code_challenge_method') !== 'S256') return fail('invalid_request', 'PKCE with S256 is required');
    return { client, redirectUri, state, scopes, challenge: p.get('code_challenge')! };
  }

  function tokens(grant: Grant, withRefresh: boolean) {
    const body: Record<string, unknown> = {
      access_token: randomToken(random, 'poe-at-'),
      expires_in: ttl,
      token_type: 'bearer',
      scope: grant.scopes.join(' '),
      username: grant.username,
      sub: `sub-${grant.username}`,
    };
    if (withRefresh) {
      const refreshToken = randomToken(random, 'poe-rt-');
      refreshTokens.set(refreshToken, { ...grant, valid: true });
      body.refresh_token = refreshToken;
    }
    return json(body);
  }

  /** client_secret_post for confidential clients, client_id alone for public ones; never HTTP Basic. */
  function authenticate(logged: LoggedRequest): FakeClient | Response {
    if (/^basic /i.test(logged.headers.authorization ?? '')) return oauthError('invalid_client', 'client_secret_basic is not supported; use client_secret_post', 401);
    const b = logged.body as Record<string, string | undefined>;
    const client = findClient(clients, b.client_id);
    if (!client) return oauthError('invalid_client', 'unknown client', 401);
    if (client.clientSecret !== undefined && b.client_secret !== client.clientSecret) return oauthError('invalid_client', 'client authentication failed', 401);
    if (client.clientSecret === undefined && b.client_secret !== undefined) return oauthError('invalid_client', 'public clients have no secret', 401);
    return client;
  }

  async function token(request: Request, logged: LoggedRequest): Promise<Response> {
    if (request.method !== 'POST') return oauthError('invalid_request', 'POST required', 405);
    if (!(logged.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return oauthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
    }
    // Path of Exile's SDK documents the User-Agent for server runtimes: "Browsers forbid setting
    // this header and it will be ignored there". So a request without one is accepted when it
    // carries an Origin header (a browser's CORS request); a User-Agent given is checked as ever.
    const userAgent = logged.headers['user-agent'];
    const fromBrowser = userAgent === undefined && logged.headers.origin !== undefined;
    const agent = fromBrowser ? undefined : USER_AGENT.exec(userAgent ?? '');
    if (!fromBrowser && !agent) return oauthError('invalid_request', 'User-Agent must be "OAuth {clientId}/{version} (contact: {contact})"');
    const client = authenticate(logged);
    if (client instanceof Response) return client;
    if (agent && agent[1] !== client.clientId) return oauthError('invalid_request', 'User-Agent must name this client id');
    const b = logged.body as Record<string, string | undefined>;

    switch (b.grant_type) {
      case 'authorization_code': {
        if (!b.code || !b.redirect_uri || !b.code_verifier) return oauthError('invalid_request', 'code, redirect_uri and code_verifier are required');
        const used = codes.consume(b.code);
        if (!used.ok) return oauthError('invalid_grant', `authorization code is ${used.reason === 'unknown' ? 'invalid' : used.reason}`);
        const code = used.data;
        if (code.clientId !== client.clientId || code.redirectUri !== b.redirect_uri) return oauthError('invalid_grant', 'code was issued to another client or redirect_uri');
        if (!(await pkceMatches(b.code_verifier, code.challenge, 'S256'))) return oauthError('invalid_grant', 'code_verifier does not match');
        return tokens(code, true);
      }
      case 'refresh_token': {
        const stored = b.refresh_token === undefined ? undefined : refreshTokens.get(b.refresh_token);
        if (!stored || !stored.valid || stored.clientId !== client.clientId) return oauthError('invalid_grant', 'refresh token is invalid, expired or already used');
        stored.valid = false; // rotation: a refresh token is used once
        return tokens(stored, true);
      }
      case 'client_credentials': {
        if (client.clientSecret === undefined) return oauthError('unauthorized_client', 'client credentials are for confidential clients only');
        const scopes = (b.scope ?? '').split(' ').filter(Boolean);
        if (scopes.length === 0 || scopes.some((s) => !s.startsWith('service:'))) return oauthError('invalid_scope', 'only service:* scopes may be requested');
        return tokens({ clientId: client.clientId, username: client.clientId, scopes }, false);
      }
      case undefined:
        return oauthError('invalid_request', 'grant_type is required');
      default:
        return oauthError('unsupported_grant_type', `grant_type ${b.grant_type} is not supported`);
    }
  }

  return redirectingFake({
    tokenPath: TOKEN_PATH,
    token,
    serverError: () => oauthError('server_error', 'internal error', 500),
    authorize,
    issue: (checked, approval) =>
      codes.issue({
        clientId: checked.client.clientId,
        redirectUri: checked.redirectUri,
        challenge: checked.challenge,
        scopes: checked.scopes,
        username: approval.user ?? 'Exile#1234',
      }),
    denyDescription: 'the user denied access',
  });
}
