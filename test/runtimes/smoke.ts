/**
 * What an app does with grantflow, run unchanged on other runtimes (Bun, Deno, workerd): the code
 * flow with PKCE, a rotating refresh, client credentials with a secret and with an RS256 client
 * assertion, logout, and an inspector that never sees a secret. Each runtime runs this one file,
 * bundled by esbuild from dist/ (test/runtimes/runtimes.test.ts), against grantflow's own fakes:
 * no Node API, no network.
 */
import { createOAuthClient, memoryStorage, OAuthError } from '../../src/index.js';
import { pathOfExile, poems } from '../../src/providers/index.js';
import { fakePathOfExile, fakePoems } from '../../src/testing/index.js';

export interface SmokeResult {
  runtime: string;
  steps: string[];
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`smoke check failed: ${what}`);
}

export async function smoke(runtime: string): Promise<SmokeResult> {
  const steps: string[] = [];
  const secrets: string[] = [];
  const seen: string[] = [];
  const redirectUri = 'http://127.0.0.1:8080/callback';

  // Path of Exile: code + PKCE, then a rotating refresh, then client credentials with a secret.
  const poeFake = fakePathOfExile({
    clients: [{ clientId: 'tool', clientSecret: 'tool-secret-value', redirectUris: [redirectUri] }],
    accessTokenTtlSeconds: 3600,
  });
  const client = createOAuthClient({
    provider: pathOfExile,
    clientId: 'tool',
    clientSecret: 'tool-secret-value',
    redirectUri,
    userAgent: 'OAuth tool/1.0.0 (contact: dev@example.com)',
    http: poeFake,
    storage: memoryStorage(),
    inspect: (event) => seen.push(JSON.stringify(event, (_key, value: unknown) => (typeof value === 'function' ? undefined : value))),
  });
  secrets.push('tool-secret-value');
  const { url, state } = await client.startAuthorization({ scopes: ['account:profile'] });
  const authorization = new URL(url);
  check(authorization.searchParams.get('code_challenge_method') === 'S256', 'S256 challenge');
  check(authorization.searchParams.get('state') === state, 'state in the URL');
  const callback = await poeFake.approve(url);
  const tokens = await client.completeAuthorization(callback);
  check(typeof tokens.accessToken === 'string' && tokens.refreshToken, 'tokens after the code exchange');
  secrets.push(tokens.accessToken, tokens.refreshToken!, new URL(callback).searchParams.get('code')!);
  steps.push('code+pkce');

  // The callback is single-use.
  const replay = await client.completeAuthorization(callback).then(
    () => undefined,
    (error: unknown) => error,
  );
  check(replay instanceof OAuthError && replay.code === 'flow_not_found', 'a replayed callback is flow_not_found');
  steps.push('replay refused');

  const refreshed = await client.refresh();
  check(refreshed.accessToken !== tokens.accessToken && refreshed.refreshToken !== tokens.refreshToken, 'the refresh rotated the tokens');
  check((await client.getAccessToken()).accessToken === refreshed.accessToken, 'getAccessToken returns the stored fresh token');
  secrets.push(refreshed.accessToken, refreshed.refreshToken!);
  steps.push('refresh');

  const service = await client.clientCredentials({ scopes: ['service:leagues'] });
  check(service.scopes?.includes('service:leagues'), 'a service token');
  check((await client.clientCredentials({ scopes: ['service:leagues'] })).accessToken === service.accessToken, 'the service token is cached');
  secrets.push(service.accessToken);
  steps.push('client credentials (secret)');

  const out = await client.logout();
  check(out.deleted, 'logout deleted the set');
  check((await client.getStoredTokens()) === undefined, 'nothing stored after logout');
  steps.push('logout');

  // POEMS: client credentials with an RS256 assertion (jose on the runtime's WebCrypto).
  const keys = (await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const publicKeyJwk = await crypto.subtle.exportKey('jwk', keys.publicKey);
  const privateKeyJwk = await crypto.subtle.exportKey('jwk', keys.privateKey);
  const poemsFake = fakePoems({ clients: [{ clientId: 'svc', redirectUris: [redirectUri], publicKeyJwk: publicKeyJwk as never }] });
  const service2 = createOAuthClient({ provider: poems, clientId: 'svc', privateKey: privateKeyJwk, http: poemsFake, storage: memoryStorage() });
  const asserted = await service2.clientCredentials();
  check(typeof asserted.accessToken === 'string', 'a token for an RS256 assertion');
  const sent = poemsFake.requests.at(-1)!;
  check(sent.body.client_assertion_type === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', 'the assertion type');
  check(String(sent.body.client_assertion).split('.').length === 3, 'a compact JWS');
  steps.push('client credentials (private_key_jwt)');

  // The inspector saw the flow, and no secret.
  check(seen.length > 20, 'the inspector saw the flows');
  const all = seen.join('\n');
  for (const secret of secrets) check(!all.includes(secret), 'no secret in an inspection event');
  steps.push('inspection without secrets');

  return { runtime, steps };
}
