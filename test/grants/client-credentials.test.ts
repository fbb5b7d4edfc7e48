import { describe, expect, it } from 'vitest';
import { createOAuthClient, memoryStorage, OAuthError } from '../../src/index.js';
import { genericOAuth2, pathOfExile, poems } from '../../src/providers/index.js';
import { fakePathOfExile } from '../../src/testing/index.js';

const userAgent = 'OAuth poe-server/1.0.0 (contact: dev@example.com)';
function setup(options: { now?: () => number } = {}) {
  const fake = fakePathOfExile({ clients: [{ clientId: 'poe-server', redirectUris: [], clientSecret: 'server-secret' }, { clientId: 'poe-tool', redirectUris: [] }] });
  const make = (extra: { clientSecret?: string; clientId?: string } = {}) =>
    createOAuthClient({
      provider: pathOfExile,
      clientId: extra.clientId ?? 'poe-server',
      userAgent: `OAuth ${extra.clientId ?? 'poe-server'}/1.0.0 (contact: dev@example.com)`,
      ...('clientSecret' in extra ? (extra.clientSecret ? { clientSecret: extra.clientSecret } : {}) : { clientSecret: 'server-secret' }),
      http: fake.fetch,
      storage: memoryStorage(),
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      ...(options.now ? { clock: { now: options.now } } : {}),
    });
  const requests = () => fake.requests.filter((r) => r.body.grant_type === 'client_credentials');
  return { fake, make, requests };
}

describe('client credentials (Path of Exile fake: service scopes, client_secret_post, User-Agent)', () => {
  it('gets a service token with client_secret_post and the User-Agent', async () => {
    const { make, requests } = setup();
    const tokens = await make().clientCredentials({ scopes: ['service:leagues', 'service:leagues:ladder'] });
    expect(tokens.accessToken).toMatch(/^poe-at-/);
    expect(tokens.scopes).toEqual(['service:leagues', 'service:leagues:ladder']);
    expect(tokens.refreshToken).toBeUndefined();
    const [request] = requests();
    expect(request!.body).toMatchObject({ client_id: 'poe-server', client_secret: 'server-secret', scope: 'service:leagues service:leagues:ladder' });
    expect(request!.headers['user-agent']).toBe(userAgent);
    expect(request!.headers.authorization).toBeUndefined();
  });

  it('caches the token until shortly before expiry; concurrent callers share one request', async () => {
    let now = Date.now();
    const { make, requests } = setup({ now: () => now });
    const client = make();
    const all = await Promise.all(Array.from({ length: 100 }, () => client.clientCredentials({ scopes: ['service:leagues'] })));
    expect(new Set(all.map((t) => t.accessToken)).size).toBe(1);
    expect(requests()).toHaveLength(1);
    expect((await client.clientCredentials({ scopes: ['service:leagues'] })).accessToken).toBe(all[0]!.accessToken);
    expect(requests()).toHaveLength(1);
    now = all[0]!.expiresAt! - 30_000; // inside the 60 s window
    const next = await client.clientCredentials({ scopes: ['service:leagues'] });
    expect(next.accessToken).not.toBe(all[0]!.accessToken);
    expect(requests()).toHaveLength(2);
    await client.clientCredentials({ scopes: ['service:leagues'], force: true });
    expect(requests()).toHaveLength(3);
  });

  it('refuses account scopes and public clients before anything is sent', async () => {
    const { make, requests } = setup();
    await expect(make().clientCredentials({ scopes: ['account:profile'] })).rejects.toMatchObject({ code: 'invalid_scope', field: 'scopes.0' });
    await expect(make({ clientId: 'poe-tool', clientSecret: undefined }).clientCredentials({ scopes: ['service:leagues'] })).rejects.toMatchObject({
      code: 'invalid_configuration',
      field: 'secrets.clientSecret',
    });
    expect(requests()).toHaveLength(0);
  });

  it('a wrong secret is invalid_client; a 503 is retried (a client credentials request is safe to repeat)', async () => {
    const a = setup();
    await expect(a.make({ clientSecret: 'wrong' }).clientCredentials({ scopes: ['service:leagues'] })).rejects.toMatchObject({ code: 'invalid_client', status: 401 });
    const b = setup();
    b.fake.failNext('http_503');
    await b.make().clientCredentials({ scopes: ['service:leagues'] });
    expect(b.requests()).toHaveLength(2);
  });

  it('a provider without the grant is refused, naming it', async () => {
    const client = createOAuthClient({ provider: { ...poems, grants: { authorization_code: {} } }, clientId: 'x', clientSecret: 's' });
    const error = await client.clientCredentials().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ code: 'invalid_configuration', field: 'provider.grants.client_credentials' });
  });
});

describe('a token response without scope was granted the scope requested (RFC 6749 §5.1)', () => {
  const provider = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/token' });
  const noScope = (async () => Response.json({ access_token: 'at', token_type: 'Bearer', expires_in: 3600 })) as typeof fetch;

  it('client credentials: the requested scopes; none requested, none said', async () => {
    const client = createOAuthClient({ provider, clientId: 'svc', clientSecret: 's', http: noScope, storage: memoryStorage() });
    expect((await client.clientCredentials({ scopes: ['read', 'write'] })).scopes).toEqual(['read', 'write']);
    expect((await client.clientCredentials()).scopes).toBeUndefined();
  });

  it('the code grant: the scopes sent in the authorization request', async () => {
    const client = createOAuthClient({ provider, clientId: 'app', redirectUri: 'https://app.example/cb', http: noScope, storage: memoryStorage() });
    const { url, state } = await client.startAuthorization({ scopes: ['openid', 'profile'] });
    expect(new URL(url).searchParams.get('scope')).toBe('openid profile');
    const tokens = await client.completeAuthorization(`https://app.example/cb?code=c&state=${state}`);
    expect(tokens.scopes).toEqual(['openid', 'profile']);
  });
});
