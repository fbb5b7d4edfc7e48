/**
 * The ```ts blocks of README.md and docs/**\/*.md, as both docs suites see them: samples.test.ts
 * type-checks every one, run-samples.test.ts runs the ones whose fence line says `run`.
 *
 * Fence line: ```ts [no-check] [run[=<fake>]]
 * - `no-check`: a fragment not meant to be whole; not type-checked (and never run).
 * - `run`: the block is a complete use of the library and is run for real, in a harness that
 *   gives the PRELUDE names real values; `run=<fake>` runs it against that fake provider
 *   (poe, path-of-exile, openrouter, eurouter, poems, or generic: any RFC 6749 server).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** package specifier → source entry (package.json "exports" + tsup.config.ts `entry`). */
export const ENTRIES: Record<string, string> = {
  grantflow: 'src/index.ts',
  'grantflow/machines': 'machines/index.ts',
  'grantflow/providers': 'src/providers/index.ts',
  'grantflow/testing': 'src/testing/index.ts',
  'grantflow/browser': 'src/browser/index.ts',
  'grantflow/oidc': 'src/oidc/index.ts',
  'grantflow/dpop': 'src/dpop/index.ts',
  'grantflow/storage/file': 'src/storage/file-index.ts',
  'grantflow/storage/redis': 'src/storage/redis-index.ts',
};

/**
 * Globals the samples use without declaring them: what an app would have in scope. Type-checked
 * here (samples.test.ts); run-samples.test.ts gives each a real value (support/harness.ts).
 */
export const PRELUDE = `
// An app's own objects: its node-redis client, its storage, its inspector, a client made earlier.
declare const redis: ReturnType<typeof import('redis').createClient>;  // node-redis
declare const storage: import('grantflow').Storage;
declare const inspect: import('grantflow').Inspector;
declare const inspector: ReturnType<typeof import('@statelyai/inspect').createBrowserInspector>;
declare const client: import('grantflow').OAuthClient;
declare const provider: import('grantflow').ProviderInput;
// Its configuration and secrets.
declare const clientId: string;
declare const clientSecret: string;
declare const redirectUri: string;
declare const pem: string;                            // docs/grants/client-assertion.md: exportPKCS8(privateKey)
declare const pemOrJwk: string | JsonWebKey;
declare const keyBytes: Uint8Array;                   // 32 bytes
// Its request handling and UI.
declare const userId: string;
declare const key: string;
declare const callbackUrl: string;
declare const request: Request;
declare const redirect: (url: string) => void;
declare const button: HTMLButtonElement;
declare const render: (what: string) => void;
declare const useToken: (accessToken: string) => void;
`;

/** The names PRELUDE declares. */
export const PRELUDE_NAMES: readonly string[] = [...PRELUDE.matchAll(/^declare const (\w+)/gm)].map((m) => m[1]!);

export interface Block {
  /** Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line in the markdown file of the block's first code line. */
  line: number;
  code: string;
  /** The fence line's words after the language: `no-check`, `run`, `run=poe`. */
  info: string;
  noCheck: boolean;
  /** Undefined: not runnable; '': runnable with no fake; else the fake's name. */
  run: string | undefined;
}

export function markdownFiles(): string[] {
  const files = ['README.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk('docs');
  return files.sort();
}

/** The ```ts blocks of one markdown text; `file` names it in lines and errors. */
export function extractBlocksFrom(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(ts|typescript)(?:\s+(.*))?$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const fence = open[2]!;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.trimStart().startsWith(fence)) end++;
    if (end >= lines.length) throw new Error(`${file}:${i + 1}: unclosed code block`);
    const code = lines
      .slice(start, end)
      .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
      .join('\n');
    const info = (open[4] ?? '').trim();
    const run = /(?:^|\s)run(?:=(\S*))?(?=\s|$)/.exec(info);
    blocks.push({ file, line: start + 1, code, info, noCheck: /\bno-check\b/.test(info), run: run ? (run[1] ?? '') : undefined });
    i = end;
  }
  return blocks;
}

export function extractBlocks(file: string): Block[] {
  return extractBlocksFrom(file, readFileSync(join(root, file), 'utf8'));
}

export function allBlocks(): Block[] {
  return markdownFiles().flatMap(extractBlocks);
}
