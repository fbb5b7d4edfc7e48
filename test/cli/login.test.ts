import { stat, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OidcServer } from '../../src/cli/oidc-server.js';
import { AUTHORIZATION_URL, cli, CLIENT_SECRET, STACK_FRAME, startCliServer, storedTokens } from './support.js';

/**
 * `grantflow login|token|logout|status` in a child process against oidc-provider on 127.0.0.1;
 * the test plays the browser: it reads the printed authorization URL, signs in and consents
 * (automatically), and requests the loopback callback the server redirects to.
 */
let server: OidcServer;
let base: string;
let providerFile: string;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ server, dir: base, providerFile, stop } = await startCliServer());
});
afterAll(async () => {
  await stop?.();
});

const freshConfig = () => mkdtemp(join(base, 'config-'));

/** `login` until it waits for the browser; then the test approves (or denies) and requests the callback. */
async function signIn(config: string, options: { clientId?: string; deny?: boolean; extra?: string[]; env?: Record<string, string> } = {}) {
  const run = cli(['login', 'local', '--provider-file', providerFile, '--client-id', options.clientId ?? 'cli-app', '--no-browser', ...(options.extra ?? [])], {
    GRANTFLOW_CONFIG_DIR: config,
    ...options.env,
  });
  const [url] = await run.waitFor(AUTHORIZATION_URL);
  const callbackUrl = options.deny ? await server.deny(url) : await server.approve(url);
  expect(callbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
  const page = await fetch(callbackUrl);
  return { run, url, callbackUrl, page, html: await page.text(), result: await run.exit };
}

describe('grantflow login (loopback redirect, RFC 8252)', { timeout: 90_000 }, () => {
  it('a second login replaces the stored tokens (same provider and client: one stored set, the new one)', async () => {
    const config = await freshConfig();
    const first = await signIn(config);
    expect(first.result.code, first.result.stderr).toBe(0);
    const before = Object.values(await storedTokens(config));
    const second = await signIn(config);
    expect(second.result.code, second.result.stderr).toBe(0);
    const after = Object.values(await storedTokens(config));
    expect(before).toHaveLength(1);
    expect(after).toHaveLength(1);
    expect(after[0]!.accessToken).not.toBe(before[0]!.accessToken);
    expect(after[0]!.refreshToken).not.toBe(before[0]!.refreshToken);
  });

  it('--issuer: the provider is discovered from the server metadata (RFC 8414 / OpenID), then login and token work by its name', async () => {
    const config = await freshConfig();
    const run = cli(['login', 'discovered', '--issuer', server.issuer, '--client-id', 'cli-app', '--scope', 'openid', '--scope', 'api:read', '--no-browser'], { GRANTFLOW_CONFIG_DIR: config });
    const [url] = await run.waitFor(AUTHORIZATION_URL);
    expect(url.startsWith(server.authorizationEndpoint)).toBe(true);
    await fetch(await server.approve(url));
    const result = await run.exit;
    expect(result.code, result.stderr).toBe(0);
    const token = await cli(['token', 'discovered'], { GRANTFLOW_CONFIG_DIR: config }).exit;
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout.trim()).toBe(Object.values(await storedTokens(config))[0]!.accessToken);
  });

  it('stores the tokens in tokens.json (mode 0600) and clients.json (no secret), prints no secret; the callback page says to close the tab', async () => {
    const config = await freshConfig();
    const { page, html, result, url, callbackUrl } = await signIn(config);
    expect(result.code, result.stderr).toBe(0);
    expect(page.status).toBe(200);
    expect(html).toMatch(/close this tab/);
    expect(new URL(url).searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(new URL(url).searchParams.get('code_challenge_method')).toBe('S256');
    expect(result.stdout).toMatch(/^signed in to local \(client cli-app\)/);

    const tokensFile = join(config, 'tokens.json');
    expect((await stat(tokensFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(config, 'clients.json'))).mode & 0o777).toBe(0o600);
    const [tokens] = Object.values(await storedTokens(config));
    expect(tokens!.accessToken).toBeTruthy();
    expect(tokens!.refreshToken).toBeTruthy();
    const code = new URL(callbackUrl).searchParams.get('code')!;
    for (const secret of [tokens!.accessToken, tokens!.refreshToken!, code]) {
      expect(result.stdout).not.toContain(secret);
      expect(result.stderr).not.toContain(secret);
    }
    const clients = JSON.parse(await readFile(join(config, 'clients.json'), 'utf8'));
    expect(clients.clients.local).toMatchObject({ providerId: 'local', clientId: 'cli-app', source: { file: providerFile } });

    // A second request to the callback (a reload) does not sign in again; another path is 404.
    expect((await fetch(callbackUrl).catch(() => undefined))?.status ?? 'closed').not.toBe(200);
  });

  it('--json prints the summary without any token', async () => {
    const config = await freshConfig();
    const { result } = await signIn(config, { extra: ['--json'] });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ provider: 'local', clientId: 'cli-app', hasRefreshToken: true });
    expect(summary.scopes).toContain('api:read');
    expect(Date.parse(summary.expiresAt)).toBeGreaterThan(Date.now());
    const [tokens] = Object.values(await storedTokens(config));
    expect(result.stdout).not.toContain(tokens!.accessToken);
  });

  it('a request to another path on the loopback server is 404, and the flow goes on', async () => {
    const config = await freshConfig();
    const run = cli(['login', 'local', '--provider-file', providerFile, '--client-id', 'cli-app', '--no-browser'], { GRANTFLOW_CONFIG_DIR: config });
    const [url] = await run.waitFor(AUTHORIZATION_URL);
    const redirectUri = new URL(url).searchParams.get('redirect_uri')!;
    expect((await fetch(new URL('/favicon.ico', redirectUri))).status).toBe(404);
    // A forged callback (wrong state) does not end the flow.
    expect((await fetch(`${redirectUri}?code=forged&state=not-the-state`)).status).toBe(400);
    const page = await fetch(await server.approve(url));
    expect(page.status).toBe(200);
    expect((await run.exit).code).toBe(0);
  });

  it('denied by the user → exit 4, one line, no stack trace', async () => {
    const config = await freshConfig();
    const { result, page } = await signIn(config, { deny: true });
    expect(result.code).toBe(4);
    expect(page.status).toBe(400);
    const errorLines = result.stderr.split('\n').filter((line) => line.startsWith('grantflow:'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/access_denied/);
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it('a confidential client with a wrong secret (invalid_client) → exit 7; the secret is never printed', async () => {
    const config = await freshConfig();
    const wrong = 'wrong-secret-abcdefghijklmnop';
    const { result } = await signIn(config, { clientId: 'cli-confidential', env: { GRANTFLOW_CLIENT_SECRET: wrong } });
    expect(result.code, result.stderr).toBe(7);
    expect(result.stderr).toMatch(/invalid_client/);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(result.stderr + result.stdout).not.toContain(wrong);
  });

  it('a confidential client with its secret from GRANTFLOW_CLIENT_SECRET signs in; the secret is stored nowhere', async () => {
    const config = await freshConfig();
    const { result } = await signIn(config, { clientId: 'cli-confidential', env: { GRANTFLOW_CLIENT_SECRET: CLIENT_SECRET } });
    expect(result.code, result.stderr).toBe(0);
    for (const file of ['tokens.json', 'clients.json']) expect(await readFile(join(config, file), 'utf8')).not.toContain(CLIENT_SECRET);
    expect(result.stderr + result.stdout).not.toContain(CLIENT_SECRET);
  });

  it('--timeout 1 → exit 5 with one line', async () => {
    const config = await freshConfig();
    const run = cli(['login', 'local', '--provider-file', providerFile, '--client-id', 'cli-app', '--no-browser', '--timeout', '1'], { GRANTFLOW_CONFIG_DIR: config });
    const result = await run.exit;
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^grantflow: timed out after 1 s/m);
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it('the port in use → exit 6 with one line', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      for (const option of [['--port', String(port)], ['--redirect-uri', `http://127.0.0.1:${port}/callback`]]) {
        const result = await cli(['login', 'local', '--provider-file', providerFile, '--client-id', 'cli-app', '--no-browser', ...option], { GRANTFLOW_CONFIG_DIR: await freshConfig() }).exit;
        expect(result.code).toBe(6);
        expect(result.stderr).toMatch(new RegExp(`^grantflow: cannot listen on 127\\.0\\.0\\.1:${port}.*in use`, 'm'));
        expect(result.stderr).not.toMatch(STACK_FRAME);
      }
    } finally {
      blocker.close();
    }
  });

  it('Ctrl-C while waiting → exit 130, one line, the port closed', async () => {
    const config = await freshConfig();
    const run = cli(['login', 'local', '--provider-file', providerFile, '--client-id', 'cli-app', '--no-browser'], { GRANTFLOW_CONFIG_DIR: config });
    const [url] = await run.waitFor(AUTHORIZATION_URL);
    run.child.kill('SIGINT');
    const result = await run.exit;
    expect(result.code, JSON.stringify(result)).toBe(130);
    expect(result.stderr.trim().split('\n').at(-1)).toBe('grantflow: cancelled');
    expect(result.stderr).not.toMatch(STACK_FRAME);
    await expect(fetch(new URL('/callback', new URL(url).searchParams.get('redirect_uri')!))).rejects.toThrow();
  });

  it('--redirect-uri with a fixed port and path: the server redirects there', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const config = await freshConfig();
    const run = cli(['login', 'local', '--provider-file', providerFile, '--client-id', 'cli-app', '--no-browser', '--redirect-uri', `http://127.0.0.1:${port}/callback`], { GRANTFLOW_CONFIG_DIR: config });
    const [url] = await run.waitFor(AUTHORIZATION_URL);
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${port}/callback`);
    expect((await fetch(await server.approve(url))).status).toBe(200);
    expect((await run.exit).code).toBe(0);
  });
});

describe('grantflow token / status / logout', { timeout: 120_000 }, () => {
  it('token prints a fresh access token; refreshes an expired one; status lists without any token; logout deletes; then exit 3', async () => {
    const config = await freshConfig();
    expect((await signIn(config)).result.code).toBe(0);
    const env = { GRANTFLOW_CONFIG_DIR: config };
    const [key, first] = Object.entries(await storedTokens(config))[0] as [string, { accessToken: string; refreshToken: string; expiresAt: number }];

    const fresh = await cli(['token', 'local'], env).exit;
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toBe(`${first!.accessToken}\n`);

    // Expired: the stored expiresAt is in the past → refreshed, the new token stored and printed.
    const file = join(config, 'tokens.json');
    const entries = JSON.parse(await readFile(file, 'utf8'));
    entries[key!].v = JSON.stringify({ ...first, expiresAt: Date.now() - 1000 });
    await writeFile(file, JSON.stringify(entries), { mode: 0o600 });
    const refreshed = await cli(['token', 'local', '--json'], env).exit;
    expect(refreshed.code, refreshed.stderr).toBe(0);
    const output = JSON.parse(refreshed.stdout);
    expect(output.accessToken).not.toBe(first!.accessToken);
    expect(Date.parse(output.expiresAt)).toBeGreaterThan(Date.now());
    expect(output.scopes).toContain('api:read');
    const second = (await storedTokens(config))[key!]!;
    expect(second.accessToken).toBe(output.accessToken);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const status = await cli(['status', '--json'], env).exit;
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout);
    expect(rows).toEqual([expect.objectContaining({ provider: 'local', clientId: 'cli-app', signedIn: true, hasRefreshToken: true, scopes: expect.arrayContaining(['api:read']) })]);
    expect(Date.parse(rows[0].expiresAt)).toBeGreaterThan(Date.now());
    const human = await cli(['status'], env).exit;
    expect(human.stdout).toMatch(/^local: signed in, expires .*client cli-app/);
    for (const out of [status.stdout, human.stdout]) {
      for (const secret of [first!.accessToken, first!.refreshToken, second.accessToken, second.refreshToken!]) expect(out).not.toContain(secret);
    }

    const logout = await cli(['logout', 'local'], env).exit;
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stdout).toMatch(/^signed out of local/);
    expect(await storedTokens(config)).toEqual({});

    const after = await cli(['token', 'local'], env).exit;
    expect(after.code).toBe(3);
    expect(after.stderr).toMatch(/^grantflow: not signed in to "local"/);
    expect(after.stdout).toBe('');
    const afterJson = await cli(['token', 'local', '--json'], env).exit;
    expect(afterJson.code).toBe(3);
    expect(JSON.parse(afterJson.stdout)).toEqual({ error: { code: 'not_signed_in', message: expect.any(String) } });
    expect(JSON.parse((await cli(['status', '--json'], env).exit).stdout)).toEqual([]);
    expect((await cli(['status', 'local'], env).exit).code).toBe(3);
  });

  it('token when the refresh token is refused (invalid_grant) → exit 3 "sign in again"', async () => {
    const config = await freshConfig();
    expect((await signIn(config)).result.code).toBe(0);
    const file = join(config, 'tokens.json');
    const entries = JSON.parse(await readFile(file, 'utf8'));
    const key = Object.keys(entries).find((k) => k.includes(':tokens:'))!;
    entries[key].v = JSON.stringify({ ...JSON.parse(entries[key].v), expiresAt: Date.now() - 1000, refreshToken: 'not-a-valid-refresh-token' });
    await writeFile(file, JSON.stringify(entries), { mode: 0o600 });
    const result = await cli(['token', 'local'], { GRANTFLOW_CONFIG_DIR: config }).exit;
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/grantflow login local/);
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it('token for a provider never signed in → exit 3; logout of it → exit 0, nothing to do', async () => {
    const env = { GRANTFLOW_CONFIG_DIR: await freshConfig() };
    const token = await cli(['token', 'poe'], env).exit;
    expect(token.code).toBe(3);
    expect(token.stderr.trim().split('\n')).toHaveLength(1);
    const logout = await cli(['logout', 'poe'], env).exit;
    expect(logout.code).toBe(0);
    expect(logout.stdout).toMatch(/not signed in to poe/);
  });
});
