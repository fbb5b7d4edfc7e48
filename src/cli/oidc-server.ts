import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { followToCallback } from './browser-agent.js';

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
  /** Acts as the user: signs in, consents, and returns the callback URL the server redirects to. */
  approve(authorizationUrl: string, options?: { accountId?: string }): Promise<string>;
  /** Acts as the user refusing: the callback URL with error=access_denied. */
  deny(authorizationUrl: string): Promise<string>;
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
}

const RESOURCE = 'urn:grantflow:api';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function loadProvider(): Promise<any> {
  try {
    return (await import('oidc-provider')).default;
  } catch {
    throw new Error('the default demo runs oidc-provider, a dev dependency of grantflow: run it from a clone after `npm ci`, or use --provider poe');
  }
}

export async function startOidcServer(options: OidcServerOptions): Promise<OidcServer> {
  const Provider = await loadProvider();
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
    scopes: ['openid', 'offline_access', ...resourceScopes],
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          if (resource !== RESOURCE) throw new Provider.errors.InvalidTarget();
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

  const redirectOf = (url: string) => new URL(url).searchParams.get('redirect_uri') ?? '';

  return {
    issuer,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    resource: RESOURCE,
    events,
    async approve(authorizationUrl, approval = {}) {
      decision = { accountId: approval.accountId ?? 'user-1' };
      return followToCallback(authorizationUrl, redirectOf(authorizationUrl));
    },
    async deny(authorizationUrl) {
      decision = 'deny';
      try {
        return await followToCallback(authorizationUrl, redirectOf(authorizationUrl));
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
