// npm run bench: grantflow beside oauth4webapi (and a hand-written baseline) in one process, as
// ratios of medians over interleaved batches. Correctness is checked before anything is timed.
// `npm run bench -- --json out.json` also writes the figures as JSON.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as oauth from 'oauth4webapi';
import { createOAuthClient, memoryStorage, type OAuthClient } from '../src/index.js';
import { genericOAuth2 } from '../src/providers/generic.js';
import { tokensKey } from '../src/grants/storage-keys.js';
import { authorizationEndpoint, createFakeServer, issuer, redirectUri, tokenEndpoint } from './fake-server.js';
import { compareCpu, formatTable, heapPerItem, type Contender, type Figure } from './harness.js';

const provider = genericOAuth2({ id: 'bench', issuer, authorizationEndpoint, tokenEndpoint });
const server = createFakeServer();

const grantflowClient = (storage = memoryStorage()): OAuthClient => createOAuthClient({ provider, clientId: 'app', redirectUri, http: server.fetch, storage });

/** grantflow's facade: start, the user approves, complete. */
function grantflowFlow(client: OAuthClient) {
  return async () => {
    const { url } = await client.startAuthorization();
    return client.completeAuthorization(server.approve(url));
  };
}

/** The same flow with oauth4webapi, its pending state kept in a Map as an app would keep it. */
const as: oauth.AuthorizationServer = { issuer, authorization_endpoint: authorizationEndpoint, token_endpoint: tokenEndpoint };
const o4wClient: oauth.Client = { client_id: 'app' };
const o4wOptions = { [oauth.customFetch]: server.fetch as typeof fetch };
async function o4wStart(pending: Map<string, string>): Promise<string> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set('client_id', o4wClient.client_id);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  pending.set(state, verifier);
  return url.href;
}
async function o4wComplete(pending: Map<string, string>, callbackUrl: string) {
  const url = new URL(callbackUrl);
  const state = url.searchParams.get('state')!;
  const verifier = pending.get(state);
  pending.delete(state);
  if (!verifier) throw new Error('no such flow');
  const params = oauth.validateAuthResponse(as, o4wClient, url, state);
  const response = await oauth.authorizationCodeGrantRequest(as, o4wClient, oauth.None(), params, redirectUri, verifier, o4wOptions);
  return oauth.processAuthorizationCodeResponse(as, o4wClient, response);
}
const o4wPending = new Map<string, string>();
const o4wFlow = async () => o4wComplete(o4wPending, server.approve(await o4wStart(o4wPending)));

async function check(what: string, ok: () => Promise<boolean>) {
  if (!(await ok())) throw new Error(`correctness check failed: ${what}`);
}

async function correctness() {
  const client = grantflowClient();
  const before = server.issued();
  await check('grantflow completes a flow with a fresh token', async () => (await grantflowFlow(client)()).accessToken.startsWith('at-'));
  await check('oauth4webapi completes a flow with a fresh token', async () => (await o4wFlow()).access_token.startsWith('at-'));
  await check('the server issued exactly two token sets', async () => server.issued() === before + 2);
  // The server refuses a wrong verifier and a replayed code, so neither client can skip PKCE or reuse a code.
  const { url } = await client.startAuthorization();
  const callback = new URL(server.approve(url));
  const wrong = await server.fetch(tokenEndpoint, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: redirectUri, code_verifier: 'x'.repeat(43) }) });
  await check('a wrong verifier is refused', async () => wrong.status === 400);
  await check('grantflow fails on the code the server already consumed', async () => client.completeAuthorization(callback.href).then(() => false, () => true));
  const replay = await client.startAuthorization().then(({ url: u }) => server.approve(u));
  await client.completeAuthorization(replay);
  await check('grantflow refuses a replayed callback', async () => client.completeAuthorization(replay).then(() => false, (e: { code?: string }) => e.code === 'flow_not_found'));
  const pending = new Map<string, string>();
  const o4wCallback = server.approve(await o4wStart(pending));
  const saved = new Map(pending);
  await o4wComplete(pending, o4wCallback);
  await check('oauth4webapi fails on a replayed code', async () => o4wComplete(saved, o4wCallback).then(() => false, () => true));
}

const sequential = (flow: () => Promise<unknown>): Contender['batch'] => async (size) => {
  for (let i = 0; i < size; i++) await flow();
};
const inFlight = (flow: () => Promise<unknown>): Contender['batch'] => async (size) => {
  await Promise.all(Array.from({ length: size }, flow));
};

/** `--only <word>` runs the figures whose title has that word. */
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? process.argv[onlyAt + 1] : undefined;
const wanted = (title: string) => only === undefined || title.includes(only);

async function figures(): Promise<Figure[]> {
  const results: Figure[] = [];
  const client = grantflowClient();
  if (wanted('sequential')) results.push(
    await compareCpu('CPU per code + PKCE flow, sequential', { name: 'grantflow', batch: sequential(grantflowFlow(client)) }, { name: 'oauth4webapi', batch: sequential(o4wFlow) }, { size: 200, batches: 15, goal: 1.0 }),
  );
  if (wanted('in flight')) results.push(
    await compareCpu('CPU per flow, 1000 in flight', { name: 'grantflow', batch: inFlight(grantflowFlow(client)) }, { name: 'oauth4webapi', batch: inFlight(o4wFlow) }, { size: 1000, batches: 9, goal: 1.2 }),
  );

  // Heap per pending flow: 10,000 started and not completed.
  const count = 10_000;
  if (wanted('heap')) {
  const ours = await heapPerItem(async (n) => {
    const storage = memoryStorage();
    const c = grantflowClient(storage);
    for (let i = 0; i < n; i++) await c.startAuthorization();
    return storage;
  }, count);
  const theirs = await heapPerItem(async (n) => {
    const pending = new Map<string, string>();
    for (let i = 0; i < n; i++) await o4wStart(pending);
    return pending;
  }, count);
  results.push({ title: `heap per pending flow (${count.toLocaleString('en-US')} pending, memoryStorage / a Map)`, unit: 'B', ours, theirs, ratio: ours / theirs, goal: 2 });
  }

  // getAccessToken on a fresh stored token, against a hand-written Map + JSON.parse + expiry check.
  if (!wanted('getAccessToken')) return results;
  const storage = memoryStorage();
  const fresh = grantflowClient(storage);
  await grantflowFlow(fresh)();
  const raw = (await storage.get(tokensKey('bench', 'app')))!;
  const map = new Map([['tokens', raw]]);
  const handWritten = async () => {
    const tokens = JSON.parse(map.get('tokens')!) as { accessToken: string; expiresAt?: number };
    if (tokens.expiresAt !== undefined && tokens.expiresAt - Date.now() <= 60_000) throw new Error('would refresh');
    return tokens;
  };
  results.push(
    await compareCpu('getAccessToken() on a fresh stored token (CPU per call)', { name: 'grantflow', batch: sequential(() => fresh.getAccessToken()) }, { name: 'hand-written', batch: sequential(handWritten) }, { size: 20_000, batches: 15, goal: 1.2 }),
  );
  return results;
}

const cpu = cpus()[0];
console.log(`grantflow benchmarks: Node ${process.version}, ${cpus().length} × ${cpu?.model ?? 'unknown CPU'}, ${process.platform}/${process.arch}\n`);
await correctness();
console.log('correctness: both clients complete flows; a wrong verifier is refused; replays fail\n');
const results = await figures();
console.log(formatTable(results));
console.log('\nbaseline: oauth4webapi for the flows and the heap; a hand-written Map + JSON.parse + expiry check for getAccessToken.');
console.log('bundle sizes: npm run bundle:budget');
const jsonAt = process.argv.indexOf('--json');
if (jsonAt > 0 && process.argv[jsonAt + 1]) writeFileSync(process.argv[jsonAt + 1]!, JSON.stringify({ node: process.version, cpu: cpu?.model, figures: results }, null, 2));
