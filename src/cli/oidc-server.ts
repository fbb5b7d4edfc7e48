import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { CookieJar, followToCallback } from './browser-agent.js';

/**
 * oidc-provider (a certified OpenID authorization server) on 127.0.0.1 at a free port, with
 * automatic login and consent, for the demo and the integration tests. oidc-provider is a dev
 * dependency: it is imported only when this runs.
 */
export interface OidcClientMetadata {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method?: 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  redirect_uris?: string[];
  grant_types?: string[];
  response_types?: string[];
  jwks?: { keys: JsonWebKey[] };
  [key: string]: unknown;
}

export interface OidcServer {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  /** The API (resource server) access tokens are issued for: they are JWTs with this audience. */
  resource: string;
  /**
   * Acts as the user: signs in, consents, and returns the callback URL the server redirects to.
   * `redirectUri`: where the callback goes, for a URL that does not say it (a pushed request's).
   */
  approve(authorizationUrl: string, options?: { accountId?: string; redirectUri?: string }): Promise<string>;
  /** Acts as the user refusing: the callback URL with error=access_denied. */
  deny(authorizationUrl: string, options?: { redirectUri?: string }): Promise<string>;
  /** RFC 8628 device authorization endpoint; only with `deviceFlow: true`. */
  deviceAuthorizationEndpoint: string;
  /**
   * Acts as the user of a device flow (`deviceFlow: true`): opens the verification page, enters
   * the user code, and confirms (signing in and consenting) or aborts (`deny: true`, access_denied).
   */
  enterUserCode(userCode: string, options?: { accountId?: string; deny?: boolean }): Promise<void>;
  /** Server-side events (grant.error and the like), for diagnosing a failed test. */
  events: Array<{ name: string; detail: string }>;
  stop(): Promise<void>;
}

export interface OidcServerOptions {
  clients: OidcClientMetadata[];
  accessTokenTtlSeconds?: number;
  /** Rotate refresh tokens of confidential clients too (public clients always rotate). */
  rotateRefreshToken?: boolean;
  /** Scopes of the API resource. */
  resourceScopes?: string[];
  /**
   * Web origins (`http://127.0.0.1:5173`) whose pages may call the token endpoint and the other
   * client-authenticated endpoints cross-origin, for every client. Default: oidc-provider's own rule.
   */
  corsOrigins?: string[];
  /** Enables the device authorization grant (RFC 8628) at /device/auth; default off. */
  deviceFlow?: boolean;
  /** Lifetime of a device code in seconds (default 600). */
  deviceCodeTtlSeconds?: number;
  /**
   * Access tokens for the API (urn:grantflow:api, JWTs) even when no `resource` is asked for
   * (default true). False: only a `resource` parameter gives one; otherwise the token is for UserInfo.
   */
  defaultResource?: boolean;
  /** DPoP (on by default in oidc-provider): also require a server nonce in every proof (RFC 9449 §8). */
  dpopNonce?: boolean;
  /** Refuse authorization requests that were not pushed first (RFC 9126 §5). */
  requirePushedAuthorization?: boolean;
  /** oidc-provider's Provider class, when the caller imported it already (default: imported here). */
  Provider?: unknown;
}

const RESOURCE = 'urn:grantflow:api';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** oidc-provider's Provider class; it is a dev dependency, so this rejects where it is not installed (a packed grantflow). */
export async function importOidcProvider(): Promise<unknown> {
  return (await import('oidc-provider')).default;
}

async function loadProvider(): Promise<any> {
  try {
    return await importOidcProvider();
  } catch {
    throw new Error('oidc-provider is a dev dependency of grantflow: run this from a clone after `npm ci`');
  }
}

export async function startOidcServer(options: OidcServerOptions): Promise<OidcServer> {
  const Provider: any = options.Provider ?? (await loadProvider());
  let handler: Handler = (_req, res) => res.end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'grantflow-test', alg: 'RS256', use: 'sig' };
  const resourceScopes = options.resourceScopes ?? ['api:read', 'api:write'];
  const events: OidcServer['events'] = [];
  /** What the automatic user does at the next interaction. */
  let decision: { accountId: string } | 'deny' = { accountId: 'user-1' };

  const provider = new Provider(issuer, {
    clients: options.clients,
    jwks: { keys: [signingKey] },
    scopes: ['openid', 'offline_access', 'email', ...resourceScopes],
    claims: { email: ['email', 'email_verified'] },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub, email: `${sub}@example.test`, email_verified: true }) }),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      ...(options.dpopNonce ? { dPoP: { enabled: true, nonceSecret: Buffer.from(crypto.getRandomValues(new Uint8Array(32))), requireNonce: () => true } } : {}),
      ...(options.requirePushedAuthorization ? { pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true } } : {}),
      introspection: { enabled: true },
      deviceFlow: {
        enabled: options.deviceFlow ?? false,
        // Plain pages around oidc-provider's own forms (its defaults print a notice each time they are used).
        userCodeInputSource: async (ctx: any, form: string, _out: unknown, error?: Error) => {
          ctx.body = `<!DOCTYPE html><html><body><h1>Sign-in</h1>${error ? `<p>${error.name}</p>` : ''}${form}<button type="submit" form="op.deviceInputForm">Continue</button></body></html>`;
        },
        userCodeConfirmSource: async (ctx: any, form: string) => {
          ctx.body = `<!DOCTYPE html><html><body><h1>Confirm Device</h1>${form}<button type="submit" form="op.deviceConfirmForm">Continue</button></body></html>`;
        },
        successSource: async (ctx: any) => {
          ctx.body = '<!DOCTYPE html><html><body><h1>Sign-in Success</h1></body></html>';
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => (options.defaultResource === false ? undefined : RESOURCE),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          if (resource !== RESOURCE) {
            // oidc-provider's error classes are a named export (not on the Provider class).
            const { errors } = (await import('oidc-provider')) as unknown as { errors: { InvalidTarget: new () => Error } };
            throw new errors.InvalidTarget();
          }
          return { scope: resourceScopes.join(' '), audience: RESOURCE, accessTokenFormat: 'jwt', accessTokenTTL: options.accessTokenTtlSeconds ?? 3600 };
        },
      },
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // Consent is automatic: the grant holds every scope that was asked for.
    loadExistingGrant: async (ctx: any) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      const requested = String(ctx.oidc.params.scope ?? '').split(' ').filter(Boolean);
      // Without a `resource` parameter the API scopes count as OIDC scopes too: grant them both ways.
      grant.addOIDCScope(requested.join(' '));
      grant.addResourceScope(RESOURCE, requested.filter((s: string) => resourceScopes.includes(s)).join(' '));
      await grant.save();
      return grant;
    },
    issueRefreshToken: async (_ctx: unknown, client: any) => client.grantTypeAllowed('refresh_token'),
    ...(options.rotateRefreshToken ? { rotateRefreshToken: () => true } : {}),
    ...(options.corsOrigins ? { clientBasedCORS: (_ctx: unknown, origin: string) => options.corsOrigins!.includes(origin) } : {}),
    ttl: {
      AccessToken: options.accessTokenTtlSeconds ?? 3600,
      ClientCredentials: options.accessTokenTtlSeconds ?? 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Interaction: 600,
      Grant: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
      ...(options.deviceFlow ? { DeviceCode: options.deviceCodeTtlSeconds ?? 600 } : {}),
    },
  });
  for (const name of ['grant.error', 'server_error', 'authorization.error']) {
    provider.on(name, (_ctx: unknown, error: Error & { error_description?: string }) => {
      events.push({ name, detail: `${error.message}${error.error_description ? `: ${error.error_description}` : ''}` });
    });
  }

  const callback = provider.callback();
  handler = (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      void interact(req, res);
      return;
    }
    callback(req, res);
  };

  async function interact(req: IncomingMessage, res: ServerResponse) {
    try {
      const details = await provider.interactionDetails(req, res);
      const result =
        decision === 'deny'
          ? { error: 'access_denied', error_description: 'the user refused' }
          : details.prompt.name === 'login'
            ? { login: { accountId: decision.accountId } }
            : { consent: {} };
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
    } catch (error) {
      res.statusCode = 500;
      res.end(error instanceof Error ? error.message : 'interaction failed');
    }
  }

  /** The device verification page, as a browser with a cookie jar uses it: GET, then POST its forms. */
  async function enterUserCode(userCode: string, choice: { accountId?: string; deny?: boolean } = {}): Promise<void> {
    const jar = new CookieJar();
    const page = new URL('/device', issuer);
    const send = async (url: URL, form?: Record<string, string>) => {
      const cookie = jar.header(url);
      const response = await fetch(url, {
        redirect: 'manual',
        headers: { ...(cookie ? { cookie } : {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        ...(form ? { method: 'POST', body: new URLSearchParams(form).toString() } : {}),
      });
      jar.store(response.headers.getSetCookie(), url);
      return { response, text: await response.text() };
    };
    const xsrfOf = (html: string) => {
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
      if (!xsrf) throw new Error(`no xsrf token on the device page: ${html.slice(0, 300)}`);
      return xsrf;
    };
    const input = await send(page);
    const confirmPage = await send(page, { xsrf: xsrfOf(input.text), user_code: userCode });
    if (!confirmPage.text.includes('op.deviceConfirmForm')) throw new Error(`the user code was not accepted: ${confirmPage.text.slice(0, 300)}`);
    const xsrf = xsrfOf(confirmPage.text);
    if (choice.deny) {
      await send(page, { xsrf, user_code: userCode, abort: 'yes' });
      return;
    }
    decision = { accountId: choice.accountId ?? 'user-1' };
    // Confirmed: login and consent happen at /interaction/:uid (answered automatically), then the success page.
    let step = await send(page, { xsrf, user_code: userCode, confirm: 'yes' });
    for (let hop = 0; hop < 12 && step.response.status >= 300 && step.response.status <= 399; hop++) {
      step = await send(new URL(step.response.headers.get('location')!, issuer));
    }
    if (step.response.status !== 200 || !step.text.includes('Success')) {
      throw new Error(`the device flow did not end on the success page: HTTP ${step.response.status}: ${step.text.slice(0, 300)}`);
    }
  }

  const redirectOf = (url: string) => new URL(url).searchParams.get('redirect_uri') ?? '';

  return {
    issuer,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    deviceAuthorizationEndpoint: `${issuer}/device/auth`,
    enterUserCode,
    resource: RESOURCE,
    events,
    async approve(authorizationUrl, approval = {}) {
      decision = { accountId: approval.accountId ?? 'user-1' };
      return followToCallback(authorizationUrl, approval.redirectUri ?? redirectOf(authorizationUrl));
    },
    async deny(authorizationUrl, denial = {}) {
      decision = 'deny';
      try {
        return await followToCallback(authorizationUrl, denial.redirectUri ?? redirectOf(authorizationUrl));
      } finally {
        decision = { accountId: 'user-1' };
      }
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
