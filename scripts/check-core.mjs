// The core entry points must run in browsers, Deno, Bun and Workers: no Node built-in may be
// imported by what `grantflow`, `grantflow/machines`, `grantflow/providers`, `grantflow/testing`,
// `grantflow/browser`, `grantflow/oidc` and `grantflow/dpop` load, statically or lazily. Walks the built ESM files and every chunk they import.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const entries = ['dist/index.js', 'dist/machines.js', 'dist/providers.js', 'dist/testing.js', 'dist/browser.js', 'dist/oidc.js', 'dist/dpop.js'];
const forbidden = [/from\s*["']node:/, /import\(\s*["']node:/, /require\(\s*["']node:/, /\bBuffer\./, /from\s*["'](fs|path|crypto|http|https|os|child_process)["']/];
const seen = new Set();
const problems = [];

function visit(file) {
  if (seen.has(file)) return;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const pattern of forbidden) if (pattern.test(text)) problems.push(`${file}: matches ${pattern}`);
  // Static imports and the chunks loaded lazily (import("./…")): both run in the app's runtime.
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.\/[^"']+)["']/g)) visit(join(dirname(file), match[1]));
}

for (const entry of entries) visit(entry);
if (problems.length > 0) {
  console.error(`core bundles reach Node-only APIs:\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`core bundles are Node-free: ${seen.size} files checked`);
