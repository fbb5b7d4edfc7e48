import { defineConfig } from 'tsup';

// One build for every public subpath. Splitting keeps one copy of shared modules (OAuthError
// among them) so `instanceof` holds across `grantflow` and `grantflow/machines`.
export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      machines: 'machines/index.ts',
      providers: 'src/providers/index.ts',
      testing: 'src/testing/index.ts',
      browser: 'src/browser/index.ts',
      oidc: 'src/oidc/index.ts',
      dpop: 'src/dpop/index.ts',
      'storage-redis': 'src/storage/redis-index.ts',
      // Node only (node:fs): built with the rest so it shares their OAuthError.
      'storage-file': 'src/storage/file-index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    splitting: true,
    sourcemap: true,
    target: 'es2022',
    platform: 'neutral',
    external: ['xstate', 'zod', 'jose', /^node:/],
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    external: ['xstate', 'zod', 'jose', 'oidc-provider'],
    banner: { js: '#!/usr/bin/env node' },
  },
]);
