/**
 * A fake of "any RFC 6749 server", for the docs samples written for `genericOAuth2` and
 * `discoverProvider` (grantflow/testing has fakes of the five built-in providers only). Built
 * from the same kit as those fakes, and as strict where the samples go: exact redirect URIs,
 * single-use expiring codes, PKCE S256, client authentication by HTTP Basic, by the body, or
 * none for a public client. It answers at any host (routes are by path), with the issuer taken
 * from the request's origin:
 *
 *   GET  /.well-known/oauth-authorization-server, /.well-known/openid-configuration  (RFC 8414, OIDC)
 *        /authorize (or /auth)                                                      the user's approve()/deny()
 *   POST /token     authorization_code, refresh_token (rotated), client_credentials, device_code
 *   POST /revoke    (RFC 7009: 200, an unknown token too)
 *   POST /device/auth  (RFC 8628; a code waits for approveDevices(): the user entering it at /activate)
 */
import { DEVICE_CODE_GRANT_TYPE } from '../../../src/provider/schema.js';
import {
  basicCredentials,
  CodeStore,
  defaultRandom,
  FailureInjector,
  fakeFetch,
  FakeProviderError,
  findClient,
  json,
  oauthError,
  pkceMatches,
  randomToken,
  redirectWith,
  systemClock,
  type FakeClient,
  type FakeOptions,
  type FakeProvider,
  type FailureKind,
  type LoggedRequest,
} from '../../../src/testing/kit.js';

export const AUTHORIZE_PATHS = ['/authorize', '/auth'];

export interface GenericFake extends FakeProvider {
  /** Acts as the user entering every user code shown so far, and approving. */
  approveDevices(): void;
  /** Tokens revoked so far (RFC 7009). */
  readonly revoked: string[];
}

interface Grant {
  clientId: string;
  scopes: string[];
}

interface PendingCode extends Grant {
  redirectUri: string;
  challenge?: string;
}

export function genericFake(options: FakeOptions = {}): GenericFake {
  const clients = options.clients ?? [];
  const clock = options.clock ?? systemClock;
  const random = options.random ?? defaultRandom;
  const codes = new CodeStore<PendingCode>(clock, options.codeLifetimeMs ?? 10 * 60_000, random);
  const refreshTokens = new Map<string, Grant & { valid: boolean }>();
  const devices = new Map<string, Grant & { approved: boolean; expiresAt: number }>();
  const revoked: string[] = [];
  const requests: LoggedRequest[] = [];
  const failures = new FailureInjector();

  const metadata = (request: Request) => {
    const issuer = new URL(request.url).origin;
    return json({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      revocation_endpoint: `${issuer}/revoke`,
      device_authorization_endpoint: `${issuer}/device/auth`,
      token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE_GRANT_TYPE],
      authorization_response_iss_parameter_supported: true,
    });
  };

  function authorize(authorizationUrl: string) {
    const url = new URL(authorizationUrl);
    if (!AUTHORIZE_PATHS.includes(url.pathname)) throw new FakeProviderError(`not the authorization endpoint: ${url.pathname}`);
    const p = url.searchParams;
    const client = findClient(clients, p.get('client_id'));
    if (!client) throw new FakeProviderError(`unknown client_id ${p.get('client_id')}`);
    const redirectUri = p.get('redirect_uri');
    if (!redirectUri || !client.redirectUris.includes(redirectUri)) throw new FakeProviderError(`redirect_uri ${redirectUri} is not registered for ${client.clientId}`);
    const state = p.get('state') ?? undefined;
    const iss = url.origin;
    const fail = (error: string, description: string) => ({ error: redirectWith(redirectUri, { error, error_description: description, state, iss }) });
    if (p.get('response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code');
    const challenge = p.get('code_challenge') ?? undefined;
    if (challenge !== undefined && p.get('code_challenge_method') !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
    const scopes = (p.get('scope') ?? '').split(' ').filter(Boolean);
    return { client, redirectUri, state, iss, scopes, ...(challenge === undefined ? {} : { challenge }) };
  }

  /** RFC 6749 §2.3: HTTP Basic or the body for a confidential client; client_id alone for a public one. */
  function authenticate(logged: LoggedRequest): FakeClient | Response {
    const b = logged.body as Record<string, string | undefined>;
    const basic = basicCredentials(logged.headers.authorization);
    if (basic && b.client_secret !== undefined) return oauthError('invalid_request', 'one client authentication method only', 400);
    const clientId = basic?.clientId ?? b.client_id;
    const secret = basic?.clientSecret ?? b.client_secret;
    const client = findClient(clients, clientId);
    if (!client) return oauthError('invalid_client', 'unknown client', 401);
    if (client.clientSecret !== undefined ? secret !== client.clientSecret : secret !== undefined) return oauthError('invalid_client', 'client authentication failed', 401);
    return client;
  }

  function issue(grant: Grant, withRefresh: boolean): Response {
    const body: Record<string, unknown> = { access_token: randomToken(random, 'at-'), token_type: 'Bearer', expires_in: 3600 };
    if (grant.scopes.length > 0) body.scope = grant.scopes.join(' ');
    if (withRefresh) {
      const refreshToken = randomToken(random, 'rt-');
      refreshTokens.set(refreshToken, { ...grant, valid: true });
      body.refresh_token = refreshToken;
    }
    return json(body);
  }

  async function token(request: Request, logged: LoggedRequest): Promise<Response> {
    if (request.method !== 'POST') return oauthError('invalid_request', 'POST required', 405);
    if (!(logged.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return oauthError('invalid_request', 'the body must be form-encoded');
    const client = authenticate(logged);
    if (client instanceof Response) return client;
    const b = logged.body as Record<string, string | undefined>;
    const scopes = (b.scope ?? '').split(' ').filter(Boolean);
    switch (b.grant_type) {
      case 'authorization_code': {
        const used = codes.consume(b.code);
        if (!used.ok) return oauthError('invalid_grant', `authorization code is ${used.reason === 'unknown' ? 'invalid' : used.reason}`);
        const code = used.data;
        if (code.clientId !== client.clientId || code.redirectUri !== b.redirect_uri) return oauthError('invalid_grant', 'the code was issued to another client or redirect_uri');
        if (code.challenge !== undefined && !(b.code_verifier && (await pkceMatches(b.code_verifier, code.challenge, 'S256')))) return oauthError('invalid_grant', 'code_verifier does not match');
        return issue(code, true);
      }
      case 'refresh_token': {
        const stored = b.refresh_token === undefined ? undefined : refreshTokens.get(b.refresh_token);
        if (!stored?.valid || stored.clientId !== client.clientId) return oauthError('invalid_grant', 'refresh token is invalid, revoked or already used');
        stored.valid = false;
        return issue(scopes.length > 0 ? { ...stored, scopes } : stored, true);
      }
      case 'client_credentials':
        if (client.clientSecret === undefined) return oauthError('unauthorized_client', 'client credentials are for confidential clients');
        return issue({ clientId: client.clientId, scopes }, false);
      case DEVICE_CODE_GRANT_TYPE: {
        const device = b.device_code === undefined ? undefined : devices.get(b.device_code);
        if (!device || device.clientId !== client.clientId) return oauthError('invalid_grant', 'unknown device_code');
        if (device.expiresAt <= clock.now()) return oauthError('expired_token', 'the device code expired');
        if (!device.approved) return oauthError('authorization_pending', 'the user has not answered yet');
        devices.delete(b.device_code!);
        return issue(device, true);
      }
      case undefined:
        return oauthError('invalid_request', 'grant_type is required');
      default:
        return oauthError('unsupported_grant_type', `grant_type ${b.grant_type} is not supported`);
    }
  }

  function revoke(request: Request, logged: LoggedRequest): Response {
    if (request.method !== 'POST') return oauthError('invalid_request', 'POST required', 405);
    const client = authenticate(logged);
    if (client instanceof Response) return client;
    const tokenValue = (logged.body as Record<string, string | undefined>).token;
    if (!tokenValue) return oauthError('invalid_request', 'token is required');
    const refresh = refreshTokens.get(tokenValue);
    if (refresh?.clientId === client.clientId) refresh.valid = false;
    revoked.push(tokenValue);
    return new Response(null, { status: 200 });
  }

  function deviceAuthorization(request: Request, logged: LoggedRequest): Response {
    if (request.method !== 'POST') return oauthError('invalid_request', 'POST required', 405);
    const client = authenticate(logged);
    if (client instanceof Response) return client;
    const deviceCode = randomToken(random, 'dc-');
    const userCode = randomToken(random, '', 6).slice(0, 8).toUpperCase();
    const scopes = ((logged.body as Record<string, string | undefined>).scope ?? '').split(' ').filter(Boolean);
    devices.set(deviceCode, { clientId: client.clientId, scopes, approved: false, expiresAt: clock.now() + 600_000 });
    const origin = new URL(request.url).origin;
    return json({ device_code: deviceCode, user_code: userCode, verification_uri: `${origin}/activate`, expires_in: 600, interval: 1 });
  }

  const fetch = fakeFetch({
    log: requests,
    failures,
    routes: {
      '/.well-known/oauth-authorization-server': metadata,
      '/.well-known/openid-configuration': metadata,
      '/token': token,
      '/revoke': revoke,
      '/device/auth': deviceAuthorization,
    },
    serverError: () => oauthError('server_error', 'internal error', 500),
  });

  return Object.assign((input: string | URL | Request, init?: RequestInit) => fetch(input, init), {
    fetch,
    async approve(authorizationUrl: string) {
      const checked = authorize(authorizationUrl);
      if ('error' in checked) return checked.error;
      const { client, redirectUri, scopes, challenge, state, iss } = checked;
      const code = codes.issue({ clientId: client.clientId, redirectUri, scopes, ...(challenge === undefined ? {} : { challenge }) });
      return redirectWith(redirectUri, { code, state, iss });
    },
    async deny(authorizationUrl: string) {
      const checked = authorize(authorizationUrl);
      if ('error' in checked) return checked.error;
      return redirectWith(checked.redirectUri, { error: 'access_denied', state: checked.state, iss: checked.iss });
    },
    failNext: (kind: FailureKind, failOptions?: { retryAfterSeconds?: number }) => failures.set(kind, failOptions),
    approveDevices() {
      for (const device of devices.values()) device.approved = true;
    },
    requests,
    revoked,
  });
}
