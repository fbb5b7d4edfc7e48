import { build } from 'esbuild';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Bundles a page script (TypeScript, imports from src/) for Chromium, as one ESM file. */
export async function bundlePage(entry: string): Promise<string> {
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  return result.outputFiles[0]!.text;
}

/** An HTML page that carries its config as JSON and loads one module script. */
export const htmlPage = (title: string, script: string, config: unknown) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<script type="application/json" id="config">${JSON.stringify(config).replace(/</g, '\\u003c')}</script>
<script type="module" src="/${script}"></script>
</head>
<body></body>
</html>
`;

export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves pages on 127.0.0.1 at a free port: `route(path)` answers each GET (undefined: 404), under
 * a CSP that allows scripts and workers from this origin only and the network to `connectSrc()` only
 * (read per request, so it can name a server started after this one).
 */
export async function startPageServer(route: (path: string, url: URL) => { type: string; body: string } | undefined, connectSrc: () => string): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, {
        'content-type': type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-security-policy': `default-src 'none'; script-src 'self'; worker-src 'self'; connect-src ${connectSrc() || "'none'"}; img-src 'self'; base-uri 'none'; form-action 'none'`,
      });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed');
    if (url.pathname === '/favicon.ico') return send(204, 'image/x-icon', '');
    const answer = route(url.pathname, url);
    if (!answer) return send(404, 'text/plain', 'not found');
    send(200, answer.type, answer.body);
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
