import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CliError, EXIT, usageError } from './exit-codes.js';

/** Where the loopback redirect listens (RFC 8252 §7.3). Port 0: a free port, chosen by the system. */
export interface LoopbackTarget {
  host: string;
  port: number;
  path: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** From `--redirect-uri` (the registered one) or `--port`: where to listen and which path to answer. */
export function loopbackTarget(options: { redirectUri?: string; port?: string }): LoopbackTarget {
  if (options.redirectUri !== undefined) {
    let url: URL;
    try {
      url = new URL(options.redirectUri);
    } catch {
      throw usageError(`--redirect-uri "${options.redirectUri}" is not a URL`);
    }
    if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) {
      throw usageError(`--redirect-uri must be a loopback URL such as http://127.0.0.1:8000/callback (RFC 8252), got "${options.redirectUri}"`);
    }
    if (url.search || url.hash) throw usageError('--redirect-uri must not have a query or a fragment');
    const port = url.port === '' ? parsePort(options.port) : Number(url.port);
    // `localhost` may resolve to ::1 or 127.0.0.1; the browser tries both, so listen on the IPv4 one.
    const host = url.hostname === '[::1]' ? '::1' : '127.0.0.1';
    return { host, port, path: url.pathname || '/' };
  }
  return { host: '127.0.0.1', port: parsePort(options.port), path: '/callback' };
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return 0;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port must be a port number (0-65535), got "${value}"`);
  return port;
}

export interface CallbackAnswer {
  status: number;
  html: string;
}

export interface LoopbackServer {
  /** The redirect URI to send: the registered one's host and path, with the port listened on. */
  redirectUri: string;
  close(): Promise<void>;
}

const page = (title: string, text: string) =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:system-ui,sans-serif;margin:4em auto;max-width:32em"><h1>${title}</h1><p>${text}</p></body></html>`;

export const callbackPages = {
  success: (provider: string): CallbackAnswer => ({ status: 200, html: page('Signed in', `grantflow is signed in to ${escapeHtml(provider)}. You can close this tab and go back to the terminal.`) }),
  failure: (message: string): CallbackAnswer => ({ status: 400, html: page('Sign-in failed', `${escapeHtml(message)}. You can close this tab; the terminal says more.`) }),
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Listens on the loopback address for the authorization server's redirect. A request to the
 * callback path is handed to `onCallback` (with the full callback URL) and its answer is the page
 * the browser shows; any other path is 404. Fails with exit code 6 when the port is taken.
 */
export async function startLoopback(target: LoopbackTarget, onCallback: (callbackUrl: string) => Promise<CallbackAnswer>): Promise<LoopbackServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${target.host === '::1' ? '[::1]' : target.host}`);
    if (req.method !== 'GET' || url.pathname !== target.path) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end('not found\n');
      return;
    }
    const callbackUrl = `${redirectUri}${url.search}`;
    onCallback(callbackUrl).then(
      (answer) => {
        res.writeHead(answer.status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', connection: 'close' });
        res.end(answer.html);
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end('sign-in failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') {
        reject(new CliError(EXIT.portInUse, 'port_in_use', `cannot listen on ${target.host}:${target.port} for the redirect (${error.code === 'EADDRINUSE' ? 'the port is in use' : 'permission denied'}): free it, or choose another with --port or --redirect-uri`));
      } else reject(error);
    });
    server.listen(target.port, target.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const redirectUri = `http://${target.host === '::1' ? '[::1]' : '127.0.0.1'}:${port}${target.path}`;
  return {
    redirectUri,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
