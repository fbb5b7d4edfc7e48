/**
 * The grants against oidc-provider on 127.0.0.1 (real HTTP), as inspector scenarios: code + PKCE
 * with openid (an id_token), basic and post client authentication, refresh with rotation, a
 * refused refresh, denied consent, client credentials (post, basic, private_key_jwt).
 */
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { startOidcServer } from '../../src/cli/oidc-server.js';
import { createOAuthClient, discoverProvider, memoryStorage, type OAuthClient, type Storage } from '../../src/index.js';
import { tokensKey } from '../../src/grants/storage-keys.js';
import type { ProviderInput } from '../../src/provider/schema.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { outcomeOf, type Scenario, type ScenarioContext } from './scenarios.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';

export async function startOidcScenarios(): Promise<{ scenarios: Scenario[]; stop(): Promise<void> }> {
  const pair = await generateKeyPair('RS256', { extractable: true });
  const jwk = (await exportJWK(pair.privateKey)) as JsonWebKey;
  const pem = await exportPKCS8(pair.privateKey);
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'inspect-key', alg: 'RS256', use: 'sig' };
  const secrets = { post: 'oidc-post-secret-0123456789', basic: 'oidc-basic-secret-0123456789' };
  const server = await startOidcServer({
    clients: [
      { client_id: 'public-app', token_endpoint_auth_method: 'none', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
      { client_id: 'basic-app', client_secret: secrets.basic, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], response_types: ['code'] },
      { client_id: 'post-app', client_secret: secrets.post, token_endpoint_auth_method: 'client_secret_post', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], response_types: ['code'] },
      { client_id: 'jwt-app', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS256', jwks: { keys: [publicJwk] }, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    ],
  });
  const provider = (authMethods: Array<'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'>): ProviderInput =>
    genericOAuth2({
      id: 'oidc',
      issuer: server.issuer,
      authorizationEndpoint: server.authorizationEndpoint,
      tokenEndpoint: server.tokenEndpoint,
      defaultScopes: ['openid', 'api:read'],
      authMethods,
    });

  const client = (
    context: ScenarioContext,
    clientId: string,
    options: { clientSecret?: string; privateKey?: string | JsonWebKey; methods: Parameters<typeof provider>[0]; storage?: Storage },
  ): OAuthClient => {
    if (options.clientSecret) context.recorder.add(options.clientSecret);
    return createOAuthClient({
      provider: provider(options.methods),
      clientId,
      redirectUri: REDIRECT,
      ...(options.clientSecret ? { clientSecret: options.clientSecret } : {}),
      ...(options.privateKey ? { privateKey: options.privateKey } : {}),
      http: context.recorder.http((input, init) => fetch(input, init)),
      storage: options.storage ?? memoryStorage(),
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      inspect: context.inspect,
    });
  };

  async function login(c: OAuthClient, context: ScenarioContext, answer: 'approve' | 'deny' = 'approve', scopes?: string[]) {
    const { url } = await c.startAuthorization(scopes ? { scopes } : {});
    context.recorder.add(new URL(url).searchParams.get('nonce'));
    const callback = answer === 'approve' ? await server.approve(url, { redirectUri: REDIRECT }) : await server.deny(url, { redirectUri: REDIRECT });
    if (answer === 'approve') context.recorder.addCallback(callback);
    return c.completeAuthorization(callback);
  }

  const scenarios: Scenario[] = [
    { name: 'oidc-provider: code flow, public client, openid (facade)', run: (context) => outcomeOf(login(client(context, 'public-app', { methods: ['none'] }), context)) },
    { name: 'oidc-provider: code flow, client_secret_basic (facade)', run: (context) => outcomeOf(login(client(context, 'basic-app', { clientSecret: secrets.basic, methods: ['client_secret_basic'] }), context)) },
    { name: 'oidc-provider: code flow, client_secret_post (facade)', run: (context) => outcomeOf(login(client(context, 'post-app', { clientSecret: secrets.post, methods: ['client_secret_post'] }), context)) },
    { name: 'oidc-provider: consent denied (facade)', run: (context) => outcomeOf(login(client(context, 'public-app', { methods: ['none'] }), context, 'deny')) },
    {
      name: 'oidc-provider: refresh with rotation, then the rotated token refused (facade)',
      run: async (context) => {
        const storage = memoryStorage();
        const c = client(context, 'public-app', { methods: ['none'], storage });
        await login(c, context);
        const before = await storage.get(tokensKey('oidc', 'public-app'));
        await c.refresh();
        // Put the rotated set back: its refresh token was used up, so the server refuses it.
        await storage.set(tokensKey('oidc', 'public-app'), before!);
        return outcomeOf(c.refresh());
      },
    },
    { name: 'oidc-provider: client credentials, client_secret_post (facade)', run: (context) => outcomeOf(client(context, 'post-app', { clientSecret: secrets.post, methods: ['client_secret_post'] }).clientCredentials({ scopes: ['api:read'] })) },
    { name: 'oidc-provider: client credentials, client_secret_basic (facade)', run: (context) => outcomeOf(client(context, 'basic-app', { clientSecret: secrets.basic, methods: ['client_secret_basic'] }).clientCredentials({ scopes: ['api:read'] })) },
    { name: 'oidc-provider: client credentials, wrong secret (facade)', run: (context) => outcomeOf(client(context, 'post-app', { clientSecret: 'not-the-secret-0123456789', methods: ['client_secret_post'] }).clientCredentials({ scopes: ['api:read'] })) },
    ...(['native', 'strings'] as const).map(
      (keys): Scenario => ({
        name: `oidc-provider: OpenID sign-in through PAR with DPoP (key ${keys === 'native' ? 'held as a CryptoKeyPair' : 'stored as a JWK'}), then a refresh (facade)`,
        run: async (context) => {
          const discovered = await discoverProvider(server.issuer, { id: 'oidc', dpop: true, pushedAuthorization: true });
          const inner = memoryStorage();
          // A storage of strings only keeps the DPoP private key as a JWK: that JWK must not reach an inspector either.
          const storage: Storage =
            keys === 'native'
              ? inner
              : {
                  get: (k) => inner.get(k),
                  set: async (k, v, o) => {
                    if (k.endsWith(':dpop-key')) context.recorder.addJwk(JSON.parse(v) as JsonWebKey);
                    return inner.set(k, v, o);
                  },
                  delete: (k) => inner.delete(k),
                  setIfAbsent: (k, v, t) => inner.setIfAbsent!(k, v, t),
                };
          const c = createOAuthClient({
            provider: discovered,
            clientId: 'public-app',
            redirectUri: REDIRECT,
            http: context.recorder.http((input, init) => fetch(input, init)),
            storage,
            retry: { baseDelayMs: 1, maxDelayMs: 2 },
            inspect: context.inspect,
          });
          await login(c, context, 'approve', ['openid', 'email', 'offline_access']);
          return outcomeOf(c.refresh());
        },
      }),
    ),
    ...(['pem', 'jwk'] as const).map(
      (form): Scenario => ({
        name: `oidc-provider: client credentials, private_key_jwt, key as ${form} (facade)`,
        run: (context) => {
          context.recorder.addJwk(jwk);
          context.recorder.addPem(pem);
          return outcomeOf(client(context, 'jwt-app', { privateKey: form === 'pem' ? pem : jwk, methods: ['private_key_jwt'] }).clientCredentials({ scopes: ['api:read'] }));
        },
      }),
    ),
  ];
  return { scenarios, stop: () => server.stop() };
}
