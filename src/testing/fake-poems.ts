import { importJWK, jwtVerify } from 'jose';
import {
  basicCredentials,
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
 * POEMS API Gateway (sandbox), from its document: the code grant ("App with POEMS access")
 * authenticates the client at the token endpoint with client_id and client secret as HTTP
 * Basic; the client credentials grant ("App without POEMS access") authenticates with an RS256
 * signed token, here RFC 7523's client_assertion. The document is silent on PKCE, scopes and
 * error bodies: PKCE is verified when a challenge was sent (as an RFC 7636 server would), any
 * scope is accepted, errors are RFC 6749 bodies.
 */
const BASE = '/api-gateway/pspl/auth/1.0/oauth';
const AUTHORIZE_PATH = `${BASE}/authorize`;
const TOKEN_PATH = `${BASE}/token`;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** An assertion may live this long at most. */
const MAX_ASSERTION_LIFETIME_S = 300;

interface PendingCode {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  challenge?: string;
  method?: string;
}

export function fakePoems(options: FakeOptions = {}): FakeProvider {
  const clients = options.clients ?? [{ clientId: 'poems-app', clientSecret: 'poems-secret', redirectUris: ['https://app.example.com/callback'] }];
  const clock = options.clock ?? systemClock;
  const random = options.random ?? defaultRandom;
  const codes = new CodeStore<PendingCode>(clock, options.codeLifetimeMs ?? 10 * 60_000, random);
  const usedJtis = new Set<string>();
  const unauthorized = (description: string) => oauthError('invalid_client', description, 401, { 'www-authenticate': 'Basic realm="POEMS API Gateway"' });

  function authorize(authorizationUrl: string) {
    const url = new URL(authorizationUrl);
    if (url.pathname !== AUTHORIZE_PATH) throw new FakeProviderError(`not the authorization endpoint: ${url.pathname}`);
    const p = url.searchParams;
    const client = findClient(clients, p.get('client_id'));
    if (!client) throw new FakeProviderError('unknown client_id');
    const redirectUri = p.get('redirect_uri');
    if (!redirectUri || !client.redirectUris.includes(redirectUri)) throw new FakeProviderError('redirect_uri does not match a registered one');
    const state = p.get('state') ?? undefined;
    if (p.get('response_type') !== 'code') {
      return { error: redirectWith(redirectUri, { error: 'unsupported_response_type', error_description: 'response_type must be code', state }) };
    }
    const challenge = p.get('code_challenge') ?? undefined;
    return {
      client,
      redirectUri,
      state,
      scopes: (p.get('scope') ?? '').split(' ').filter(Boolean),
      ...(challenge ? { challenge, method: p.get('code_challenge_method') ?? 'plain' } : {}),
    };
  }

  function basicClient(logged: LoggedRequest): FakeClient | Response {
    const credentials = basicCredentials(logged.headers.authorization);
    if (!credentials) return unauthorized('client authentication with HTTP Basic is required');
    const client = findClient(clients, credentials.clientId);
    if (!client || client.clientSecret === undefined || client.clientSecret !== credentials.clientSecret) return unauthorized('client authentication failed');
    return client;
  }

  async function assertionClient(request: Request, logged: LoggedRequest): Promise<FakeClient | Response> {
    const b = logged.body as Record<string, string | undefined>;
    if (b.client_assertion_type !== ASSERTION_TYPE || !b.client_assertion) return oauthError('invalid_client', 'a signed client assertion is required', 401);
    const client = findClient(clients, b.client_id);
    if (!client?.publicKeyJwk) return oauthError('invalid_client', 'unknown client or no registered public key', 401);
    const audience = `${new URL(request.url).origin}${TOKEN_PATH}`;
    try {
      const key = await importJWK(client.publicKeyJwk, 'RS256');
      const { payload } = await jwtVerify(b.client_assertion, key, {
        algorithms: ['RS256'],
        issuer: client.clientId,
        subject: client.clientId,
        audience,
        currentDate: new Date(clock.now()),
        requiredClaims: ['exp', 'jti', 'iat'],
      });
      if (payload.exp! - Math.floor(clock.now() / 1000) > MAX_ASSERTION_LIFETIME_S) return oauthError('invalid_client', 'assertion lives too long', 401);
      if (usedJtis.has(payload.jti!)) return oauthError('invalid_client', 'assertion jti was used already', 401);
      usedJtis.add(payload.jti!);
      return client;
    } catch (error) {
      return oauthError('invalid_client', `assertion rejected: ${(error as Error).message}`, 401);
    }
  }

  async function token(request: Request, logged: LoggedRequest): Promise<Response> {
    if (request.method !== 'POST') return oauthError('invalid_request', 'POST required', 405);
    if (!(logged.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return oauthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
    }
    const b = logged.body as Record<string, string | undefined>;
    const issue = (scopes: string[], withRefresh: boolean) =>
      json({
        access_token: randomToken(random, 'poems-at-'),
        token_type: 'Bearer',
        expires_in: 3600,
        ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
        ...(withRefresh ? { refresh_token: randomToken(random, 'poems-rt-') } : {}),
      });
    switch (b.grant_type) {
      case 'authorization_code': {
        if (b.client_secret !== undefined) return unauthorized('send the client secret as HTTP Basic, not in the body');
        const client = basicClient(logged);
        if (client instanceof Response) return client;
        const used = codes.consume(b.code);
        if (!used.ok) return oauthError('invalid_grant', `authorization code is ${used.reason === 'unknown' ? 'invalid' : used.reason}`);
        const code = used.data;
        if (code.clientId !== client.clientId || code.redirectUri !== b.redirect_uri) return oauthError('invalid_grant', 'redirect_uri or client does not match the code');
        if (code.challenge !== undefined && !(b.code_verifier && (await pkceMatches(b.code_verifier, code.challenge, code.method!)))) {
          return oauthError('invalid_grant', 'code_verifier does not match');
        }
        return issue(code.scopes, true);
      }
      case 'client_credentials': {
        const client = await assertionClient(request, logged);
        if (client instanceof Response) return client;
        return issue((b.scope ?? '').split(' ').filter(Boolean), false);
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
    issue: (checked) => {
      const { client, redirectUri, scopes, challenge, method } = checked;
      return codes.issue({ clientId: client.clientId, redirectUri, scopes, ...(challenge ? { challenge, method } : {}) });
    },
    denyDescription: 'the user cancelled the login',
  });
}
