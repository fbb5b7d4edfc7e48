// node --cpu-prof --import tsx bench/profile.ts: a CPU profile of sequential code + PKCE flows through the facade.
import { createOAuthClient, memoryStorage } from '../src/index.js';
import { genericOAuth2 } from '../src/providers/generic.js';
import { authorizationEndpoint, createFakeServer, issuer, redirectUri, tokenEndpoint } from './fake-server.js';

const server = createFakeServer();
const client = createOAuthClient({ provider: genericOAuth2({ id: 'bench', issuer, authorizationEndpoint, tokenEndpoint }), clientId: 'app', redirectUri, http: server.fetch, storage: memoryStorage() });
const flows = Number(process.argv[2] ?? 5000);
const started = performance.now();
for (let i = 0; i < flows; i++) {
  const { url } = await client.startAuthorization();
  await client.completeAuthorization(server.approve(url));
}
console.log(`${flows} flows, ${((performance.now() - started) * 1000 / flows).toFixed(0)} µs each (wall)`);
