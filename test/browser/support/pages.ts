import { build } from 'esbuild';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Bundles a fixture for the browser (ESM, es2022), as an app's bundler would. */
export async function bundleForBrowser(entry: string): Promise<string> {
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  return result.outputFiles[0]!.text;
}

/** An HTML page that loads one module script, with a JSON config the script reads. */
export const htmlPage = (title: string, script: string, config: unknown) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<script type="application/json" id="config">${JSON.stringify(config).replace(/</g, '\\u003c')}</script>
<script type="module" src="${script}"></script>
</head>
<body></body>
</html>
`;

export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves fixed pages and scripts on 127.0.0.1 at a free port, with a strict CSP: scripts (and
 * workers) from this origin only, the network only to `connectSrc()` (read per request, so it can
 * name a server started after this one). Every response is also a worker's policy.
 */
export async function startPageServer(routes: { pages: Map<string, () => string>; scripts: Map<string, string>; connectSrc: () => string }): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, {
        'content-type': type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-security-policy': `default-src 'none'; script-src 'self'; worker-src 'self'; connect-src ${routes.connectSrc() || "'none'"}; base-uri 'none'; form-action 'none'`,
      });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed');
    const page = routes.pages.get(path);
    if (page) return send(200, 'text/html; charset=utf-8', page());
    const script = routes.scripts.get(path);
    if (script) return send(200, 'text/javascript; charset=utf-8', script);
    if (path === '/favicon.ico') return send(204, 'image/x-icon', '');
    return send(404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
