import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmokeResult } from './smoke.js';

/**
 * grantflow claims to run in browsers, Deno, Bun and Workers: the core uses no Node API. Here the
 * same app (smoke.ts: the code flow with PKCE, a replayed callback, a rotating refresh, client
 * credentials with a secret and with an RS256 assertion, logout, an inspector that sees no secret)
 * runs on the real runtimes, installed from npm as devDependencies (bun, deno, workerd), bundled by
 * esbuild as an app would bundle it: platform neutral, xstate, zod and jose bundled.
 */
const root = resolve(import.meta.dirname, '../..');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const STEPS = ['code+pkce', 'replay refused', 'refresh', 'client credentials (secret)', 'logout', 'client credentials (private_key_jwt)', 'inspection without secrets'];

/** The package's public specifiers, resolved to the sources (no build needed to run the tests). */
const ENTRIES: Record<string, string> = {
  grantflow: 'src/index.ts',
  'grantflow/providers': 'src/providers/index.ts',
  'grantflow/testing': 'src/testing/index.ts',
};
const fromSources: esbuild.Plugin = {
  name: 'grantflow-sources',
  setup(build) {
    build.onResolve({ filter: /^grantflow(\/|$)/ }, (args) => {
      const entry = ENTRIES[args.path];
      if (!entry) throw new Error(`no source entry for ${args.path}`);
      return { path: join(root, entry) };
    });
  },
};

let dir: string;

async function bundle(contents: string, outfile: string): Promise<void> {
  await esbuild.build({
    stdin: { contents, resolveDir: import.meta.dirname, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['worker', 'browser'],
    target: 'es2022',
    outfile: join(dir, outfile),
    plugins: [fromSources],
    logLevel: 'error',
  });
}

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' } });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

/** The one line of JSON the smoke program prints. */
function resultOf(stdout: string): SmokeResult | undefined {
  const line = stdout.split('\n').find((text) => text.startsWith('{"runtime"'));
  return line === undefined ? undefined : (JSON.parse(line) as SmokeResult);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grantflow-runtimes-'));
  // The runtime names itself, so a test cannot pass by running the program on Node instead.
  await bundle(
    `import { smoke } from './smoke.ts';
     const runtime = 'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : 'unknown';
     console.log(JSON.stringify(await smoke(runtime)));`,
    'main.mjs',
  );
  await bundle(
    `import { smoke } from './smoke.ts';
     export default { async test() { console.log(JSON.stringify(await smoke(navigator.userAgent === 'Cloudflare-Workers' ? 'workerd' : 'unknown'))); } };`,
    'worker.mjs',
  );
  writeFileSync(
    join(dir, 'config.capnp'),
    [
      'using Workerd = import "/workerd/workerd.capnp";',
      'const config :Workerd.Config = ( services = [ (name = "main", worker = .smoke) ] );',
      'const smoke :Workerd.Worker = ( modules = [ (name = "worker", esModule = embed "worker.mjs") ], compatibilityDate = "2026-11-01" );',
      '',
    ].join('\n'),
  );
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the same app on other runtimes (no Node API in the core)', () => {
  it('Bun', () => {
    const out = run(bin('bun'), ['run', 'main.mjs']);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(resultOf(out.stdout)).toEqual({ runtime: 'bun', steps: STEPS });
  });

  it('Deno, with no permission granted', () => {
    const out = run(bin('deno'), ['run', '--no-prompt', '--no-config', 'main.mjs']);
    expect(out.status, out.stderr).toBe(0);
    expect(resultOf(out.stdout)).toEqual({ runtime: 'deno', steps: STEPS });
  });

  it('Cloudflare workerd (a Worker module): the User-Agent Path of Exile requires is sent there', () => {
    const out = run(bin('workerd'), ['test', 'config.capnp']);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stderr).toContain('[ PASS ] main');
    expect(resultOf(out.stdout + out.stderr)).toEqual({ runtime: 'workerd', steps: STEPS });
  });
});
