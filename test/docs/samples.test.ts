/**
 * Every ```ts block of README.md and docs/**\/*.md is type-checked against the sources, so a
 * sample that does not compile fails here with its file:line and the compiler's message.
 *
 * - The package's entry points (`grantflow`, `grantflow/machines`, …) map to their source entry
 *   files (package.json "exports", tsup.config.ts), so a sample is checked against src/ as it is.
 * - Each block is a virtual module of its own in ONE ts.Program (fast: one checker for all).
 * - Names a sample uses on purpose without declaring them (an app's `redis` client, `userId`, …)
 *   are declared once in PRELUDE (support/blocks.ts, shared with run-samples.test.ts, which gives
 *   them real values) — typed as honestly as the package lets us.
 * - A block may opt out only with `no-check` on its fence line (```ts no-check), for fragments
 *   that are not meant to be whole; OPT_OUTS lists them, so adding one is a visible change here.
 * - A block marked `run` (```ts run, ```ts run=poe) is also run for real, against a fake provider:
 *   run-samples.test.ts.
 */
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { allBlocks, ENTRIES, PRELUDE, root, type Block as MarkdownBlock } from './support/blocks.js';

/** Blocks allowed to carry `no-check`, by file → how many. Keep this short. */
const OPT_OUTS: Record<string, number> = {};

interface Block extends MarkdownBlock {
  /** Absolute path of the virtual .ts file. */
  virtualPath: string;
}

const blocks: Block[] = allBlocks().map((b) => ({
  ...b,
  virtualPath: join(root, 'test/docs/__samples__', `${b.file.replace(/[\\/]/g, '__')}.L${b.line}.ts`),
}));
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
