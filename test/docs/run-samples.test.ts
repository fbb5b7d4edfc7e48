/**
 * The runnable samples run: every ```ts block of README.md and docs/**\/*.md whose fence line
 * says `run` (```ts run, or ```ts run=<fake> to run against that fake provider) is executed
 * for real, against src/ (the package's specifiers map to the source entries, as in
 * samples.test.ts, which type-checks the same blocks). Each is an `it` named file:line; it fails
 * when the block throws, when a promise it awaits rejects, or when it ends with a failed grant
 * output, a storage or revocation error kept aside, or an app callback (`useToken`) never called.
 *
 * How a block is run: support/runner.ts. The fakes, the user, and the PRELUDE names' values:
 * support/harness.ts. No block reaches the network: a request the fake does not serve is refused.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { redisSkipReason } from '../support/redis-server.js';
import { allBlocks, extractBlocksFrom, PRELUDE_NAMES, type Block } from './support/blocks.js';
import { createHarness, FAKES, needsRedis, stopRedis } from './support/harness.js';
import { instrument, runBlock } from './support/runner.js';

const blocks = allBlocks();
const runnable = blocks.filter((b) => b.run !== undefined);

function usesRedis(block: Block): boolean {
  try {
    const { params, imports } = instrument(block);
    return needsRedis(params, imports);
  } catch {
    return false; // the test itself reports why the block cannot be instrumented
  }
}

async function run(block: Block): Promise<void> {
  await runBlock(block, await createHarness({ fake: block.run ?? '', file: block.file, redis: usesRedis(block) }));
}

// As the Redis suite: in CI a missing redis-server is a failure, not a skip.
const redisBlocks = runnable.filter(usesRedis);
if (redisSkipReason && redisBlocks.length > 0 && process.env.CI) throw new Error(`docs samples with Redis cannot run in CI: ${redisSkipReason}`);

describe('docs samples run', () => {
  afterAll(stopRedis);

  it('finds the runnable blocks: each is whole (not no-check) and names a known fake', () => {
    expect(runnable.length).toBeGreaterThan(20);
    const wrong = runnable.filter((b) => b.noCheck || !(b.run === '' || b.run! in FAKES)).map((b) => `${b.file}:${b.line}: ${b.info}`);
    expect(wrong, `runnable blocks are type-checked, and run= names one of ${Object.keys(FAKES).join(', ')}`).toEqual([]);
  });

  it('the harness has a value for every PRELUDE name', async () => {
    const harness = await createHarness({ fake: '', file: 'README.md', redis: false });
    expect([...harness.provides].sort()).toEqual([...PRELUDE_NAMES].sort());
  });

  for (const block of runnable) {
    const skip = usesRedis(block) && redisSkipReason !== undefined;
    it.skipIf(skip)(`${block.file}:${block.line}${skip ? ` (skipped: ${redisSkipReason})` : ''}`, () => run(block), 15_000);
  }
});

describe('the runner reports a broken block', () => {
  const sample = (code: string, fence = 'ts run') => extractBlocksFrom('SELF.md', `# Self-test\n\n\`\`\`${fence}\n${code}\n\`\`\`\n`)[0]!;

  it('passes a block that works: a code flow against the Poe fake, the user following `url`', async () => {
    await run(
      sample(
        [
          "import { createOAuthClient } from 'grantflow';",
          "import { poe } from 'grantflow/providers';",
          "const client = createOAuthClient({ provider: poe, clientId: 'my-app', redirectUri: 'http://localhost:3000/callback' });",
          'const { url } = await client.startAuthorization();',
          'const { accessToken } = await client.completeAuthorization(callbackUrl);',
          "if (!accessToken.startsWith('sk-poe-')) throw new Error(accessToken);",
        ].join('\n'),
        'ts run=poe',
      ),
    );
  });

  it('a block that throws fails, naming the line of the statement', async () => {
    // Line 4 of SELF.md is the block's first line.
    await expect(run(sample("const a = 1;\nthrow new Error('boom ' + a);"))).rejects.toThrow(/^SELF\.md:5: Error: boom 1/);
  });

  it('a block whose awaited promise rejects fails', async () => {
    await expect(run(sample("import { OAuthError } from 'grantflow';\nawait Promise.reject(new OAuthError('server_error', 'down'));"))).rejects.toThrow(
      /^SELF\.md:5: OAuthError server_error: down/,
    );
  });

  it('a block whose authorization the user cannot approve fails, naming the statement that made the URL', async () => {
    const code = [
      "import { createOAuthClient } from 'grantflow';",
      "import { poe } from 'grantflow/providers';",
      "const client = createOAuthClient({ provider: poe, clientId: 'unregistered', redirectUri: 'http://localhost:3000/callback' });",
      'const { url } = await client.startAuthorization();',
      'await client.completeAuthorization(callbackUrl);',
    ].join('\n');
    await expect(run(sample(code, 'ts run=poe'))).rejects.toThrow(/^SELF\.md:7: Error: the user could not approve https:\/\/poe\.com\/oauth\/authorize\?\S+ \(an authorization URL the block made\): FakeProviderError: unknown client_id/);
  });

  it('a block that fails inside the library fails: a callback with a wrong state', async () => {
    const code = [
      "import { createOAuthClient } from 'grantflow';",
      "import { poe } from 'grantflow/providers';",
      "const client = createOAuthClient({ provider: poe, clientId: 'my-app', redirectUri: 'http://localhost:3000/callback' });",
      'await client.startAuthorization();',
      "await client.completeAuthorization('http://localhost:3000/callback?code=x&state=forged');",
    ].join('\n');
    await expect(run(sample(code, 'ts run=poe'))).rejects.toThrow(/^SELF\.md:8: OAuthError /);
  });

  it('a block that ends with a failed grant output fails, though nothing threw', async () => {
    const code = [
      "import { createActor, toPromise } from 'xstate';",
      "import { clientCredentialsMachine, provideServices } from 'grantflow/machines';",
      "import { pathOfExile } from 'grantflow/providers';",
      "const machine = provideServices(clientCredentialsMachine, { secrets: { clientSecret: 'wrong' } });",
      "const output = await toPromise(createActor(machine, { input: { provider: pathOfExile, client: { clientId: 'my-service', userAgent: 'OAuth my-service/1.0.0 (contact: ops@example.com)' }, scopes: ['service:leagues'] } }).start());",
    ].join('\n');
    await expect(run(sample(code, 'ts run=path-of-exile'))).rejects.toThrow(/the block ran, but `output` is \{ status: 'failed' \} \(OAuthError invalid_client/);
  });

  it('a block that reaches for the network fails, and says so', async () => {
    await expect(run(sample("await fetch('https://example.org/');"))).rejects.toThrow(/fetch failed[\s\S]*refused https:\/\/example\.org\/: no fake on the fence line/);
  });

  it('a block whose app callback is never called fails', async () => {
    await expect(run(sample("const later = () => useToken('t');"))).rejects.toThrow(/`useToken` was never called/);
  });
});
