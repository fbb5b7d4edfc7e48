/**
 * `npm run example:spa`: oidc-provider on 127.0.0.1 (automatic login and consent), the app
 * bundled with esbuild, and one page server. Prints the URL; Ctrl-C stops everything.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { startOidcServer } from '../../src/cli/oidc-server.js';

const here = import.meta.dirname;
const root = resolve(here, '../..');
const CLIENT_ID = 'spa-example';

const bundled = await build({
  entryPoints: [join(here, 'main.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  // The package's own entries, from the sources: no build needed.
  alias: { 'grantflow/browser': join(root, 'src/browser/index.ts'), 'grantflow/providers': join(root, 'src/providers/index.ts') },
});
const script = bundled.outputFiles[0]!.text;

let issuer = '';
const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
  const headers = { 'cache-control': 'no-store', 'content-security-policy': `default-src 'self'; connect-src ${issuer}` };
  if (path === '/') {
    const config = JSON.stringify({ issuer, clientId: CLIENT_ID }).replace(/</g, '\\u003c');
    res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
    return res.end(readFileSync(join(here, 'index.html'), 'utf8').replace('__CONFIG__', config));
  }
  if (path === '/main.js') {
    res.writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' });
    return res.end(script);
  }
  if (path === '/favicon.ico') {
    res.writeHead(204, headers);
    return res.end();
  }
  res.writeHead(404, { ...headers, 'content-type': 'text/plain' });
  res.end('not found');
});
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const oidc = await startOidcServer({
  clients: [{ client_id: CLIENT_ID, token_endpoint_auth_method: 'none', redirect_uris: [`${origin}/`], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }],
  corsOrigins: [origin],
});
issuer = oidc.issuer;

console.log(`grantflow/browser example: ${origin}/  (authorization server: ${issuer}; Ctrl-C to stop)`);

const stop = () => {
  server.closeAllConnections();
  server.close();
  void oidc.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
