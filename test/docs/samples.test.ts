/**
 * Every ```ts block of README.md and docs/**\/*.md is type-checked against the sources, so a
 * sample that does not compile fails here with its file:line and the compiler's message.
 *
 * - The package's entry points (`grantflow`, `grantflow/machines`, …) map to their source entry
 *   files (package.json "exports", tsup.config.ts), so a sample is checked against src/ as it is.
 * - Each block is a virtual module of its own in ONE ts.Program (fast: one checker for all).
 * - Names a sample uses on purpose without declaring them (an app's `redis` client, `userId`, …)
 *   are declared once, below, in PRELUDE — typed as honestly as the package lets us.
 * - A block may opt out only with `no-check` on its fence line (```ts no-check), for fragments
 *   that are not meant to be whole; OPT_OUTS lists them, so adding one is a visible change here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Globals the samples use without declaring them: what an app would have in scope. */
const PRELUDE = `
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

/** Blocks allowed to carry `no-check`, by file → how many. Keep this short. */
const OPT_OUTS: Record<string, number> = {};

/** package specifier → source entry (package.json "exports" + tsup.config.ts `entry`). */
const ENTRIES: Record<string, string> = {
  grantflow: 'src/index.ts',
  'grantflow/machines': 'machines/index.ts',
  'grantflow/providers': 'src/providers/index.ts',
  'grantflow/testing': 'src/testing/index.ts',
  'grantflow/browser': 'src/browser/index.ts',
  'grantflow/storage/file': 'src/storage/file-index.ts',
  'grantflow/storage/redis': 'src/storage/redis-index.ts',
};

interface Block {
  /** Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line in the markdown file of the block's first code line. */
  line: number;
  code: string;
  noCheck: boolean;
  /** Absolute path of the virtual .ts file. */
  virtualPath: string;
}

function markdownFiles(): string[] {
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

function extractBlocks(file: string): Block[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
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
    const virtualPath = join(root, 'test/docs/__samples__', `${file.replace(/[\\/]/g, '__')}.L${start + 1}.ts`);
    blocks.push({ file, line: start + 1, code, noCheck: /\bno-check\b/.test(open[4] ?? ''), virtualPath });
    i = end;
  }
  return blocks;
}

const blocks = markdownFiles().flatMap(extractBlocks);
const checked = blocks.filter((b) => !b.noCheck);
const preludePath = join(root, 'test/docs/__samples__/prelude.d.ts');

/** A block with no import or export would be a script sharing one global scope: make it a module. */
function moduleText(code: string): string {
  return /^\s*(import|export)\b/m.test(code) ? code : `${code}\nexport {};\n`;
}

function createProgram(): ts.Program {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    // A sample shows a call; it need not use every name it binds.
    noUnusedLocals: false,
    noUnusedParameters: false,
    paths: Object.fromEntries(Object.entries(ENTRIES).map(([spec, file]) => [spec, [join(root, file)]])),
  };
  const virtual = new Map<string, string>([[preludePath, PRELUDE]]);
  for (const b of checked) virtual.set(b.virtualPath, moduleText(b.code));

  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const text = virtual.get(resolve(fileName));
    return text !== undefined
      ? ts.createSourceFile(fileName, text, languageVersion, true)
      : getSourceFile(fileName, languageVersion, onError, shouldCreate);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => virtual.has(resolve(fileName)) || fileExists(fileName);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => virtual.get(resolve(fileName)) ?? readFile(fileName);

  return ts.createProgram({ rootNames: [...virtual.keys()], options, host });
}

function format(block: Block, diagnostics: readonly ts.Diagnostic[]): string[] {
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return `${block.file}:${block.line}: TS${d.code}: ${message}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    const where = resolve(d.file.fileName) === block.virtualPath
      ? `${block.file}:${block.line + line}:${character + 1}`
      : `${relative(root, d.file.fileName)}:${line + 1}:${character + 1}`;
    return `${where}: TS${d.code}: ${message}`;
  });
}

describe('docs samples compile', () => {
  const program = createProgram();

  it('finds the blocks, and only the expected ones opt out', () => {
    expect(checked.length).toBeGreaterThan(20);
    const optOuts: Record<string, number> = {};
    for (const b of blocks) if (b.noCheck) optOuts[b.file] = (optOuts[b.file] ?? 0) + 1;
    expect(optOuts).toEqual(OPT_OUTS);
  });

  it('the prelude and the compiler options are sound', () => {
    const prelude = program.getSourceFile(preludePath)!;
    const problems = [
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...program.getSyntacticDiagnostics(prelude),
      ...program.getSemanticDiagnostics(prelude),
    ].map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  });

  for (const block of checked) {
    it(`${block.file}:${block.line}`, () => {
      const file = program.getSourceFile(block.virtualPath)!;
      const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
      expect(format(block, diagnostics), `${block.file}:${block.line} does not compile`).toEqual([]);
    });
  }
});
