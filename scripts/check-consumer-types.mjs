// The published types compile for a consumer without the DOM lib: `lib: ["ES2022"]`, @types/node,
// NodeNext resolution, skipLibCheck off — as oauth4webapi's and openid-client's do. Builds a
// throwaway project that imports every public entry, both as ESM (.mts) and as CJS (.cts), and
// runs tsc on it against dist/ (run `npm run build` first; `npm run check:package` does).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const entries = Object.keys(pkg.exports).filter((e) => e !== './package.json').map((e) => (e === '.' ? 'grantflow' : `grantflow/${e.slice(2)}`));
const dir = mkdtempSync(join(tmpdir(), 'grantflow-consumer-'));
try {
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '@types'), { recursive: true });
  symlinkSync(root, join(modules, 'grantflow'), 'dir');
  // What the published types refer to: the peers and dependencies, and Node's types.
  for (const name of ['xstate', 'zod', 'jose', 'redis', '@redis']) symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
  symlinkSync(join(root, 'node_modules', '@types', 'node'), join(modules, '@types', 'node'), 'dir');
  const names = entries.map((entry, i) => `import * as entry${i} from '${entry}';`).join('\n');
  const use = `${names}\nexport const all = [${entries.map((_, i) => `entry${i}`).join(', ')}];\n`;
  writeFileSync(join(dir, 'use.mts'), use);
  writeFileSync(join(dir, 'use.cts'), use);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', lib: ['ES2022'], module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'], strict: true, noEmit: true, skipLibCheck: false },
      files: ['use.mts', 'use.cts'],
    }),
  );
  try {
    execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', dir], { stdio: 'pipe', encoding: 'utf8' });
  } catch (error) {
    // Errors inside the dependencies' own types are theirs (they are checked with skipLibCheck off too, but are not ours to fix).
    const ours = String(error.stdout).split('\n').filter((line) => line.includes('/dist/') && !line.includes('node_modules/'));
    if (ours.length > 0) {
      console.error(`the published types need more than lib ES2022 + @types/node:\n${ours.join('\n')}`);
      process.exit(1);
    }
  }
  console.log(`published types compile with lib ES2022 + @types/node: ${entries.length} entries, ESM and CJS`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
