// npm run bench: grantflow side by side with oauth4webapi in the same process, as ratios.
// Numbers vary by machine; the ratios are what to compare between runs.
import * as oauth from 'oauth4webapi';
import { createActor, toPromise, waitFor } from 'xstate';
import { authorizationCodeMachine, provideServices } from '../machines/index.js';
import { createPkcePair } from '../src/crypto/pkce.js';
import { sha256, sha256WebCrypto } from '../src/crypto/sha256.js';
import { genericOAuth2 } from '../src/providers/generic.js';
import { cryptoRandom } from '../src/services/defaults.js';
import { memoryStorage } from '../src/services/memory-storage.js';
import { measure, report } from './harness.js';

const issuer = 'https://as.example.com';
const tokenEndpoint = `${issuer}/token`;
const redirectUri = 'https://app.example.com/callback';
const tokenBody = JSON.stringify({ access_token: 'at-0123456789', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-0123456789', scope: 'read' });
const tokenResponse = () => new Response(tokenBody, { status: 200, headers: { 'content-type': 'application/json' } });

async function pkce() {
  const ours = await measure('grantflow createPkcePair', () => createPkcePair(cryptoRandom));
  const theirs = await measure('oauth4webapi verifier+challenge', async () => oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()));
  console.log(report('PKCE S256 pair', ours, theirs));
  const node = await measure('sha256 via node:crypto', () => sha256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'));
  const web = await measure('sha256 via WebCrypto', () => sha256WebCrypto('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'));
  console.log(report('SHA-256 of a verifier (grantflow picks node:crypto on Node)', node, web));
}

async function codeFlow() {
  const provider = genericOAuth2({ issuer, authorizationEndpoint: `${issuer}/authorize`, tokenEndpoint });
  const storage = memoryStorage();
  const machine = provideServices(authorizationCodeMachine, { http: async () => tokenResponse(), storage });
  const ours = await measure(
    'grantflow machine, start→tokens',
    async () => {
      const actor = createActor(machine, { input: { provider, client: { clientId: 'app', redirectUri } } }).start();
      const { context } = await waitFor(actor, (s) => s.matches('awaitingCallback'));
      actor.send({ type: 'callback', url: `${redirectUri}?code=abc&state=${context.state}&iss=${encodeURIComponent(issuer)}` });
      await toPromise(actor);
    },
    { iterations: 500 },
  );

  const as: oauth.AuthorizationServer = { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: tokenEndpoint };
  const client: oauth.Client = { client_id: 'app' };
  const theirs = await measure(
    'oauth4webapi, start→tokens',
    async () => {
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const url = new URL(as.authorization_endpoint!);
      url.searchParams.set('client_id', client.client_id);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('state', state);
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
      url.searchParams.set('code_challenge_method', 'S256');
      const params = oauth.validateAuthResponse(as, client, new URL(`${redirectUri}?code=abc&state=${state}&iss=${encodeURIComponent(issuer)}`), state);
      const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, verifier, {
        [oauth.customFetch]: async () => tokenResponse(),
      });
      await oauth.processAuthorizationCodeResponse(as, client, response);
    },
    { iterations: 500 },
  );
  console.log(report('Authorization code + PKCE, whole flow in memory (no network)', ours, theirs));
}

console.log(`grantflow benchmarks on Node ${process.version}\n`);
await pkce();
await codeFlow();
