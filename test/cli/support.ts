import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOidcServer, type OidcServer } from '../../src/cli/oidc-server.js';
import { genericOAuth2 } from '../../src/providers/index.js';

const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'src', 'cli', 'main.ts');

export interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr (or stdout). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** The CLI in a child process, as a user runs it: `node --import tsx src/cli/main.ts …`. */
export function cli(args: string[], env: Record<string, string | undefined> = {}): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root,
    // No display and no SSH: the browser is never opened by a test (and --no-browser says so too).
    env: { ...process.env, DISPLAY: '', WAYLAND_DISPLAY: '', SSH_CONNECTION: '', SSH_TTY: '', SSH_CLIENT: '', GRANTFLOW_CLIENT_SECRET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const listener of listeners) listener();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exit,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = stderr.match(pattern) ?? stdout.match(pattern);
          if (match) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no ${pattern} within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
        }, timeoutMs);
        listeners.add(check);
        void exit.then(() => {
          check();
          if (listeners.has(check)) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`exited before ${pattern}; stdout: ${stdout}; stderr: ${stderr}`));
          }
        });
        check();
      });
    },
  };
}

export const AUTHORIZATION_URL = /http:\/\/127\.0\.0\.1:\d+\/auth\?\S+/;

export const CLIENT_SECRET = 'cli-confidential-secret-0123456789';

/** oidc-provider on 127.0.0.1 with the CLI's clients (native: any loopback port, RFC 8252 §7.3), and a provider file for it. */
export async function startCliServer(): Promise<{ server: OidcServer; dir: string; providerFile: string; stop(): Promise<void> }> {
  const server = await startOidcServer({
    deviceFlow: true,
    clients: [
      { client_id: 'cli-app', application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1/callback'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
      {
        client_id: 'cli-confidential',
        client_secret: CLIENT_SECRET,
        application_type: 'native',
        token_endpoint_auth_method: 'client_secret_post',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      { client_id: 'cli-device', token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'], response_types: [], redirect_uris: [] },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), 'grantflow-cli-'));
  const providerFile = join(dir, 'local.json');
  const provider = genericOAuth2({
    id: 'local',
    name: 'local oidc-provider',
    issuer: server.issuer,
    authorizationEndpoint: server.authorizationEndpoint,
    tokenEndpoint: server.tokenEndpoint,
    deviceAuthorizationEndpoint: server.deviceAuthorizationEndpoint,
    authMethods: ['none', 'client_secret_post'],
    defaultScopes: ['openid', 'api:read'],
  });
  await writeFile(providerFile, JSON.stringify(provider));
  return {
    server,
    dir,
    providerFile,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The stored TokenSets in a config dir's tokens.json (fileStorage's format: `{ key: { v, e? } }`). */
export async function storedTokens(configDir: string): Promise<Record<string, { accessToken: string; refreshToken?: string; expiresAt?: number }>> {
  const entries = JSON.parse(await readFile(join(configDir, 'tokens.json'), 'utf8')) as Record<string, { v: string }>;
  return Object.fromEntries(Object.entries(entries).filter(([key]) => key.includes(':tokens:')).map(([key, entry]) => [key, JSON.parse(entry.v)]));
}

/** A stack trace's frames, which an expected failure never prints. */
export const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;
