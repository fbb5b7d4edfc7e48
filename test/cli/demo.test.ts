import { describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/commands.js';
import { runDemo } from '../../src/cli/demo.js';
import { run } from '../../src/cli/run.js';
import { cli, STACK_FRAME } from './support.js';

/** A packed grantflow has no dev dependencies: importing oidc-provider fails there. */
const missing = () => Promise.reject(Object.assign(new Error("Cannot find package 'oidc-provider'"), { code: 'ERR_MODULE_NOT_FOUND' }));

describe('grantflow demo', () => {
  it('without oidc-provider, the default demo runs the Poe fake with a one-line note, exit 0', async () => {
    const lines: string[] = [];
    const code = await runDemo(undefined, (line) => lines.push(line), { importOidcProvider: missing });
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^note: oidc-provider \(a dev dependency\) is not installed/);
    expect(lines.some((line) => line.includes('Sign in with Poe') || line.includes('Poe fake'))).toBe(true);
    expect(lines.at(-1)).toBe('done.');
    expect(lines.join('\n')).not.toMatch(STACK_FRAME);
  });

  it('through run(): the same fallback, exit 0', async () => {
    let out = '';
    const io: Io = { out: (t) => void (out += t), err: (t) => void (out += t), errIsTTY: false, env: {}, onInterrupt: () => () => {}, openBrowser: () => {} };
    expect(await run(['demo'], io, { demo: { importOidcProvider: missing } })).toBe(0);
    expect(out).toMatch(/^note: /);
    expect(out).toMatch(/done\.\n$/);
  });

  it('--provider oidc without oidc-provider: one line and exit 1, no stack trace', async () => {
    const lines: string[] = [];
    expect(await runDemo('oidc', (line) => lines.push(line), { importOidcProvider: missing })).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/npm ci|--provider poe/);
  });

  it('with oidc-provider installed (a clone), the default demo runs against it (child process)', async () => {
    const result = await cli(['demo']).exit;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/against oidc-provider/);
    expect(result.stdout).toMatch(/done\.\n$/);
  });

  it('an unknown demo provider → exit 2', async () => {
    expect(await runDemo('nope', () => {})).toBe(2);
  });
});
