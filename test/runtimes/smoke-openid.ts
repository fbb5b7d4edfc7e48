/**
 * OpenID Connect sign-in through PAR with DPoP-bound tokens, run on another runtime against
 * oidc-provider (started by runtimes.test.ts in Node on 127.0.0.1) over real HTTP: discovery, the
 * pushed request, the DPoP nonce challenge, the id_token verified against the JWKS, UserInfo, a
 * resource request with a proof, and a refresh bound to the same key — jose and WebCrypto on the
 * runtime itself. The user's part (sign-in, consent) is done by the test, at `approver`.
 */
import { createOAuthClient, discoverProvider, memoryStorage, type Http } from '../../src/index.js';

export interface OpenIdSmokeOptions {
  issuer: string;
  /** POST { url, redirectUri } → the callback URL, as the user's browser would reach it. */
  approver: string;
  redirectUri: string;
  clientId: string;
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`smoke check failed: ${what}`);
}

export async function smokeOpenId(runtime: string, options: OpenIdSmokeOptions): Promise<{ runtime: string; steps: string[] }> {
  const steps: string[] = [];
  const provider = await discoverProvider(options.issuer, { id: 'op', dpop: true });
  check(provider.pushedAuthorization && provider.dpop && provider.openid, 'discovery found PAR, DPoP and OpenID');
  steps.push('discovery');

  const refusals: string[] = [];
  const http: Http = async (input, init) => {
    const response = await fetch(input, init);
    const body = response.status === 400 ? await response.clone().text() : '';
    if (body.includes('use_dpop_nonce') || (response.headers.get('www-authenticate') ?? '').includes('use_dpop_nonce')) refusals.push(new URL(String(input)).pathname);
    return response;
  };
  const client = createOAuthClient({ provider, clientId: options.clientId, redirectUri: options.redirectUri, storage: memoryStorage(), http });
  const { url } = await client.startAuthorization({ scopes: ['openid', 'email', 'offline_access'] });
  const sent = new URL(url);
  check(sent.searchParams.get('request_uri') && !sent.searchParams.has('code_challenge'), 'the authorization URL carries only the pushed request');
  steps.push('pushed authorization');

  const answer = await fetch(options.approver, { method: 'POST', body: JSON.stringify({ url, redirectUri: options.redirectUri }) });
  check(answer.ok, 'the user approved');
  const tokens = await client.completeAuthorization(await answer.text());
  check(tokens.tokenType === 'DPoP', 'DPoP-bound tokens');
  check(tokens.idTokenClaims?.sub === 'user-1' && tokens.idTokenClaims.iss === options.issuer, 'the id_token was validated and its claims returned');
  check(refusals.length === 1, 'one DPoP nonce challenge in all');
  steps.push('id_token');

  const info = await client.getUserInfo();
  check(info.sub === 'user-1' && info.email === 'user-1@example.test', 'UserInfo names the same user');
  const me = await client.fetch(`${options.issuer}/me`);
  check(me.status === 200, 'a resource request with a DPoP proof');
  steps.push('userinfo and fetch');

  const refreshed = await client.refresh();
  check(refreshed.tokenType === 'DPoP' && refreshed.accessToken !== tokens.accessToken, 'a refresh bound to the same key');
  check(refreshed.idTokenClaims?.sub === 'user-1', 'the refreshed id_token names the same user');
  steps.push('refresh');
  return { runtime, steps };
}
