import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';

interface Chunk {
  file: string;
  byPackage: Record<string, number>;
}
interface Measured {
  name: string;
  gzip: number;
  budget: number;
  overBudget: boolean;
  byPackage: Record<string, number>;
  lazy: Chunk[];
  modules: string[];
}

// One esbuild build of the facade entry from the sources (well under a second); the full table
// with every entry and dist/ is `npm run bundle:budget` in CI.
describe('bundle budget: the facade with the code grant (scripts/bundle-budget.mjs)', () => {
  let facade: Measured;
  beforeAll(() => {
    const run = spawnSync(process.execPath, ['scripts/bundle-budget.mjs', '--json', '--only=facade + code'], { encoding: 'utf8' });
    const results = JSON.parse(run.stdout) as Measured[];
    expect(results).toHaveLength(1);
    facade = results[0]!;
  });

  it('stays within its gzip budget', () => {
    expect(facade.gzip).toBeLessThanOrEqual(facade.budget);
    expect(facade.overBudget).toBe(false);
  });

  it('loads jose only when a JWT is signed or verified: lazy chunks, nothing up front', () => {
    expect(facade.byPackage).not.toHaveProperty('jose');
    expect(facade.modules.filter((path) => path.includes('node_modules/jose/'))).toEqual([]);
    expect(facade.lazy.length).toBeGreaterThan(0);
    expect(facade.lazy.some((chunk) => Object.keys(chunk.byPackage).includes('jose'))).toBe(true);
  });

  it('loads OpenID Connect, DPoP, PAR and resource requests only when a provider or a call needs them', () => {
    const upFront = facade.modules.filter((path) => /^src\/(dpop|oidc)\//.test(path) || /(id-token-check|resource-request|userinfo|pushed-authorization)\.ts$/.test(path));
    // The nonce maker is the one piece a sign-in needs before anything is sent: 32 random bytes, base64url.
    expect(upFront).toEqual(['src/oidc/nonce.ts']);
    const lazyModules = facade.lazy.flatMap((chunk) => Object.keys(chunk.byPackage));
    expect(lazyModules).toEqual(expect.arrayContaining(['src/oidc', 'src/dpop']));
  });

  it('takes only the provider it imports (poe), not the other built-in ones', () => {
    expect(facade.modules.filter((path) => path.startsWith('src/providers/'))).toEqual(['src/providers/poe.ts']);
  });
});

describe('bundle budget: the code machine alone, without the facade', () => {
  let codeOnly: Measured;
  beforeAll(() => {
    const run = spawnSync(process.execPath, ['scripts/bundle-budget.mjs', '--json', '--only=machines: code grant'], { encoding: 'utf8' });
    codeOnly = (JSON.parse(run.stdout) as Measured[])[0]!;
  });

  it('carries no other grant: provideServices imports none, each machine registers its own', () => {
    const otherGrants = codeOnly.modules.filter((path) =>
      /(refresh-token|client-credentials|client-assertion|token-request-states|token-session|device-authorization|lock|revoke)\.ts$/.test(path),
    );
    expect(otherGrants).toEqual([]);
    expect(codeOnly.modules).toEqual(expect.arrayContaining(['machines/authorization-code.ts', 'src/grants/authorization-code.ts', 'src/provide-services.ts']));
    expect(codeOnly.overBudget).toBe(false);
  });
});
