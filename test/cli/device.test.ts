import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OidcServer } from '../../src/cli/oidc-server.js';
import { cli, STACK_FRAME, startCliServer, storedTokens } from './support.js';

/** `grantflow login <provider> --device` (RFC 8628) against oidc-provider; the test is the user on the other device. */
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

const USER_CODE = /enter the code:\n\n\s+(\S+)\n/;

describe('grantflow login --device', { timeout: 90_000 }, () => {
  it('prints the user code and the verification URI, polls until approved, stores the tokens; token then works', async () => {
    const config = await mkdtemp(join(base, 'config-'));
    const run = cli(['login', 'local', '--provider-file', providerFile, '--client-id', 'cli-device', '--device'], { GRANTFLOW_CONFIG_DIR: config });
    const [, userCode] = await run.waitFor(USER_CODE);
    expect(run.stderr()).toContain(`${server.issuer}/device`);
    await server.enterUserCode(userCode!);
    const result = await run.exit;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^signed in to local \(client cli-device\)/);
    const [tokens] = Object.values(await storedTokens(config));
    expect(result.stdout + result.stderr).not.toContain(tokens!.accessToken);
    const token = await cli(['token', 'local'], { GRANTFLOW_CONFIG_DIR: config }).exit;
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toBe(`${tokens!.accessToken}\n`);
  });

  it('refused on the other device → exit 4, one line', async () => {
    const config = await mkdtemp(join(base, 'config-'));
    const run = cli(['login', 'local', '--provider-file', providerFile, '--client-id', 'cli-device', '--device', '--json'], { GRANTFLOW_CONFIG_DIR: config });
    const [, userCode] = await run.waitFor(USER_CODE);
    await server.enterUserCode(userCode!, { deny: true });
    const result = await run.exit;
    expect(result.code, result.stderr).toBe(4);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: 'access_denied', message: expect.stringMatching(/access_denied/) } });
  });

  it('an unknown client id (invalid_client from the server) → exit 7, one line, no stack trace', async () => {
    const config = await mkdtemp(join(base, 'config-'));
    const result = await cli(['login', 'local', '--provider-file', providerFile, '--client-id', 'no-such-client', '--device'], { GRANTFLOW_CONFIG_DIR: config }).exit;
    expect(result.code, result.stderr).toBe(7);
    expect(result.stderr).toMatch(/^grantflow: invalid_client/m);
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});
