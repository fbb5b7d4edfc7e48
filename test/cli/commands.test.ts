import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/commands.js';
import { configDir } from '../../src/cli/config.js';
import { loopbackTarget } from '../../src/cli/loopback.js';
import { run, version } from '../../src/cli/run.js';
import { cli, STACK_FRAME } from './support.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'grantflow-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** run() in this process, with its output captured. */
async function runHere(args: string[], env: NodeJS.ProcessEnv = { GRANTFLOW_CONFIG_DIR: dir }) {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), errIsTTY: false, env, onInterrupt: () => () => {}, openBrowser: () => {} };
  const code = await run(args, io);
  return { code, out, err };
}

describe('grantflow --help, --version, usage errors (child process)', () => {
  it('--version prints the package version, exit 0', async () => {
    const result = await cli(['--version']).exit;
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(result.stdout.trim()).toBe(version());
  });

  it('--help lists every command and the exit codes, exit 0', async () => {
    const result = await cli(['--help']).exit;
    expect(result.code).toBe(0);
    for (const command of ['login', 'token', 'logout', 'status', 'demo']) expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(result.stdout).toMatch(/exit codes:/);
    expect(result.stdout).toMatch(/130 cancelled/);
  });

  it('an unknown command → exit 2 with the usage, no stack trace', async () => {
    const result = await cli(['frobnicate']).exit;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^grantflow: unknown command "frobnicate"/);
    expect(result.stderr).toMatch(/usage: grantflow <command>/);
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('usage and configuration errors (in process)', () => {
  it('an unknown option → exit 2, one line', async () => {
    const result = await runHere(['login', 'poe', '--client-id', 'x', '--frob']);
    expect(result.code).toBe(2);
    expect(result.err.split('\n')[0]).toMatch(/^grantflow: login: Unknown option '--frob'/);
  });

  it('login without --client-id → exit 2; an unknown provider → exit 7', async () => {
    expect((await runHere(['login', 'poe'])).code).toBe(2);
    const unknown = await runHere(['login', 'nosuch', '--client-id', 'x']);
    expect(unknown.code).toBe(7);
    expect(unknown.err).toMatch(/unknown provider "nosuch"; built in: poe, path-of-exile/);
  });

  it('Path of Exile without --user-agent → exit 2 with the form it needs', async () => {
    const result = await runHere(['login', 'path-of-exile', '--client-id', 'myapp']);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/requires --user-agent "OAuth myapp\/\{version\} \(contact: \{contact\}\)"/);
  });

  it('--issuer whose discovery fails → exit 7 naming the issuer; --json error shape', async () => {
    const result = await runHere(['login', 'x', '--client-id', 'a', '--issuer', 'http://127.0.0.1:9/', '--json', '--no-browser']);
    expect(result.code).toBe(7);
    expect(JSON.parse(result.out)).toEqual({ error: { code: 'invalid_provider', message: expect.stringMatching(/discovery at http:\/\/127\.0\.0\.1:9\/ failed/) } });
  });

  it('a provider file with a bad field → exit 7 naming the field', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ id: 'bad', name: 'Bad', token: { url: 'not a url' }, grants: { refresh_token: {} } }));
    const result = await runHere(['login', '--provider-file', file, '--client-id', 'a', '--no-browser']);
    expect(result.code).toBe(7);
    expect(result.err).toMatch(/token\.url/);
    await writeFile(file, '{ not json');
    expect((await runHere(['login', '--provider-file', file, '--client-id', 'a'])).err).toMatch(/not valid JSON/);
    expect((await runHere(['login', '--provider-file', join(dir, 'missing.json'), '--client-id', 'a'])).code).toBe(7);
  });

  it('a redirect URI that is not loopback → exit 2', async () => {
    const result = await runHere(['login', 'poe', '--client-id', 'a', '--redirect-uri', 'https://example.com/cb']);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/loopback/);
  });

  it('status with nothing signed in: an empty list, exit 0', async () => {
    const result = await runHere(['status', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toEqual([]);
  });
});

describe('configDir and loopbackTarget', () => {
  it('follows the platform conventions; GRANTFLOW_CONFIG_DIR overrides', () => {
    expect(configDir({ GRANTFLOW_CONFIG_DIR: '/x' }, 'linux', '/home/u')).toBe('/x');
    expect(configDir({ XDG_CONFIG_HOME: '/xdg' }, 'linux', '/home/u')).toBe('/xdg/grantflow');
    expect(configDir({}, 'linux', '/home/u')).toBe('/home/u/.config/grantflow');
    expect(configDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/grantflow');
    expect(configDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toMatch(/Roaming[\\/]grantflow$/);
  });

  it('port 0 by default, --port, or the registered redirect URI port and path', () => {
    expect(loopbackTarget({})).toEqual({ host: '127.0.0.1', port: 0, path: '/callback' });
    expect(loopbackTarget({ port: '8123' })).toEqual({ host: '127.0.0.1', port: 8123, path: '/callback' });
    expect(loopbackTarget({ redirectUri: 'http://127.0.0.1:9000/oauth/done' })).toEqual({ host: '127.0.0.1', port: 9000, path: '/oauth/done' });
    expect(loopbackTarget({ redirectUri: 'http://localhost/cb' })).toEqual({ host: '127.0.0.1', port: 0, path: '/cb' });
    expect(() => loopbackTarget({ port: 'x' })).toThrow(/--port/);
  });
});
