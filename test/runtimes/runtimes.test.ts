import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcServer, type OidcServer } from '../../src/cli/oidc-server.js';
import type { SmokeResult } from './smoke.js';

/**
 * grantflow claims to run in browsers, Deno, Bun and Workers: the core uses no Node API. Here the
 * same app (smoke.ts: the code flow with PKCE, a replayed callback, a rotating refresh, client
 * credentials with a secret and with an RS256 assertion, logout, an inspector that sees no secret)
 * runs on the real runtimes, installed from npm as devDependencies (bun, deno, workerd), bundled by
 * esbuild as an app would bundle it: platform neutral, xstate, zod and jose bundled (grantflow from
 * its sources, so no build is needed). And an OpenID
 * sign-in through PAR with DPoP (smoke-openid.ts) from each runtime over real HTTP to oidc-provider,
 * which runs here in Node on 127.0.0.1.
 */
const root = resolve(import.meta.dirname, '../..');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const OPENID_STEPS = ['discovery', 'pushed authorization', 'id_token', 'userinfo and fetch', 'refresh'];
const STEPS = ['code+pkce', 'replay refused', 'refresh', 'client credentials (secret)', 'logout', 'client credentials (private_key_jwt)', 'inspection without secrets'];

let dir: string;

async function bundle(contents: string, outfile: string, define: Record<string, string> = {}): Promise<void> {
  await esbuild.build({
    define,
    stdin: { contents, resolveDir: import.meta.dirname, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['worker', 'browser'],
    target: 'es2022',
    outfile: join(dir, outfile),
    logLevel: 'error',
  });
}

/** Runs a runtime on a bundle, asynchronously: the servers it talks to answer from this process. */
function run(command: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd: dir, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolveRun({ status, stdout, stderr });
    });
  });
}

/** The one line of JSON the smoke program prints (workerd logs to stderr around it). */
function resultOf(stdout: string): SmokeResult | undefined {
  const line = stdout.split('\n').find((text) => text.startsWith('{"runtime"'));
  return line === undefined ? undefined : (JSON.parse(line) as SmokeResult);
}

let oidc: OidcServer;
let approver: Server;

/** A workerd config: the worker module, its outbound network (loopback only, for oidc-provider). */
const capnp = (module: string) =>
  [
    'using Workerd = import "/workerd/workerd.capnp";',
    'const config :Workerd.Config = ( services = [ (name = "main", worker = .smoke), (name = "loopback", network = ( allow = ["local"] )) ] );',
    `const smoke :Workerd.Worker = ( modules = [ (name = "worker", esModule = embed "${module}") ], compatibilityDate = "2026-11-01", globalOutbound = "loopback" );`,
    '',
  ].join('\n');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grantflow-runtimes-'));
  const redirectUri = 'http://127.0.0.1:8767/callback';
  oidc = await startOidcServer({
    defaultResource: false,
    dpopNonce: true,
    requirePushedAuthorization: true,
    clients: [{ client_id: 'public-app', token_endpoint_auth_method: 'none', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }],
  });
  // The user's browser: signs in and consents at the authorization URL, answers with the callback URL.
  approver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const { url, redirectUri: to } = JSON.parse(body) as { url: string; redirectUri: string };
      oidc.approve(url, { redirectUri: to }).then(
        (callback) => res.writeHead(200, { 'content-type': 'text/plain' }).end(callback),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    });
  });
  await new Promise<void>((listening) => approver.listen(0, '127.0.0.1', listening));
  const openid = { issuer: oidc.issuer, approver: `http://127.0.0.1:${(approver.address() as AddressInfo).port}/`, redirectUri, clientId: 'public-app' };
  const define = { __OPENID__: JSON.stringify(openid) };

  // The runtime names itself, so a test cannot pass by running the program on Node instead.
  const named = `const runtime = 'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : navigator.userAgent === 'Cloudflare-Workers' ? 'workerd' : 'unknown';`;
  await bundle(`import { smoke } from './smoke.ts'; ${named} console.log(JSON.stringify(await smoke(runtime)));`, 'fakes.mjs');
  await bundle(`import { smokeOpenId } from './smoke-openid.ts'; ${named} console.log(JSON.stringify(await smokeOpenId(runtime, __OPENID__)));`, 'openid.mjs', define);
  await bundle(`import { smoke } from './smoke.ts'; ${named} export default { async test() { console.log(JSON.stringify(await smoke(runtime))); } };`, 'fakes-worker.mjs');
  await bundle(
    `import { smokeOpenId } from './smoke-openid.ts'; ${named} export default { async test() { console.log(JSON.stringify(await smokeOpenId(runtime, __OPENID__))); } };`,
    'openid-worker.mjs',
    define,
  );
  writeFileSync(join(dir, 'fakes.capnp'), capnp('fakes-worker.mjs'));
  writeFileSync(join(dir, 'openid.capnp'), capnp('openid-worker.mjs'));
}, 60_000);

afterAll(async () => {
  await new Promise((closed) => (approver ? approver.close(closed) : closed(undefined)));
  await oidc?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The command that runs a bundle on each runtime. */
const RUNTIMES = {
  bun: (scenario: string) => run(bin('bun'), ['run', `${scenario}.mjs`]),
  // No permission but the network to 127.0.0.1 (oidc-provider and the approver).
  deno: (scenario: string) => run(bin('deno'), ['run', '--no-prompt', '--no-config', '--allow-net=127.0.0.1', `${scenario}.mjs`]),
  workerd: (scenario: string) => run(bin('workerd'), ['test', `${scenario}.capnp`]),
};

describe.each(Object.entries(RUNTIMES))('the same app on %s (no Node API in the core)', (runtime, runOn) => {
  it('sign-in with PKCE, a replayed callback, refresh, client credentials (secret, RS256 assertion), logout, inspection', async () => {
    const out = await runOn('fakes');
    expect(out.status, out.stderr).toBe(0);
    expect(resultOf(out.stdout + out.stderr)).toEqual({ runtime, steps: STEPS });
  });

  it('OpenID Connect through PAR with DPoP against oidc-provider over HTTP: id_token, UserInfo, fetch, refresh', async () => {
    const out = await runOn('openid');
    expect(out.status, out.stderr).toBe(0);
    expect(resultOf(out.stdout + out.stderr)).toEqual({ runtime, steps: OPENID_STEPS });
  });
});
