/**
 * Runs one markdown block for real. The block's TypeScript is rewritten, then transpiled (types
 * stripped, nothing checked: samples.test.ts does that) into the body of an async function:
 *
 * - `import { a, b as c } from 'grantflow/x'` becomes `const { a, b: c } = await __import('grantflow/x')`,
 *   the package's specifiers resolving to the source entries (ENTRIES), others to node_modules;
 *   `export` is dropped (a sample's exports are its top-level bindings);
 * - the PRELUDE names the block uses without declaring become the function's parameters, with
 *   the harness's values;
 * - after each top-level statement, `__step(i, { …bindings so far })` hands the harness what the
 *   block has made: it acts as the user there (follows an authorization URL, enters a device code;
 *   awaited only then), and `callbackUrl` and `request` are re-read from it (the callback of the
 *   latest authorization the user approved). A failure names the markdown line of the statement.
 */
import ts from 'typescript';
import * as vitest from 'vitest';
import { join } from 'node:path';
import { ENTRIES, PRELUDE_NAMES, root, type Block } from './blocks.js';

/** PRELUDE names whose value changes as the block runs: re-read after each top-level statement. */
export const DYNAMIC_NAMES = ['callbackUrl', 'request'] as const;

export interface Instrumented {
  /** The body of an async function (`__import`, `__step`, `console`, …params). */
  js: string;
  /** PRELUDE names the block uses without declaring them. */
  params: string[];
  /** Module specifiers the block imports. */
  imports: string[];
  /** Markdown line of each top-level statement. */
  statementLines: number[];
}

/** What the harness does between the block's statements, and around it. */
export interface BlockHarness {
  /** The PRELUDE names it has a value for. */
  readonly provides: readonly string[];
  /** The values of the PRELUDE names the block uses. */
  values(names: readonly string[]): Promise<unknown[]>;
  /**
   * After top-level statement `index`: the current values of the dynamic names, or a promise of
   * them when the harness has work to do first (the user at the provider); the block awaits only then.
   */
  step(index: number, bindings: Record<string, unknown>): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** After the last statement: what the block left undone or wrong ([] when all is well). */
  finish(bindings: Record<string, unknown>): Promise<string[]>;
  /** The fetch the block's global `fetch` is (every request the library makes without an `http`, too). */
  fetch: typeof fetch;
  /** Environment variables the block reads (read after `values`). */
  readonly env: Record<string, string>;
  /** Console of the block, and notes of the harness, shown when the block fails. */
  transcript(): string[];
  /** Stops what the block started (actors, Redis clients) and what the harness made for it. */
  cleanup(bindings: Record<string, unknown>): Promise<void>;
}

const preludeNames = new Set(PRELUDE_NAMES);

function bindingNames(name: ts.BindingName, into: string[]): void {
  if (ts.isIdentifier(name)) into.push(name.text);
  else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bindingNames(element.name, into);
}

/** The value names a top-level statement declares. */
function declaredBy(statement: ts.Statement): string[] {
  const names: string[] = [];
  if (ts.isVariableStatement(statement)) for (const d of statement.declarationList.declarations) bindingNames(d.name, names);
  else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) names.push(statement.name.text);
  else if (ts.isEnumDeclaration(statement) && !statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ConstKeyword)) names.push(statement.name.text);
  return names;
}

/** Whether an identifier reads a variable (not a property name, a declaration's name or a type). */
function isReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p)) return p.expression === id;
  if (ts.isQualifiedName(p)) return false;
  if (
    (ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isMethodDeclaration(p) || ts.isGetAccessorDeclaration(p) || ts.isSetAccessorDeclaration(p) || ts.isEnumMember(p)) &&
    p.name === id
  ) {
    return false;
  }
  if (ts.isBindingElement(p)) return p.initializer === id;
  if (ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p) || ts.isFunctionExpression(p) || ts.isClassDeclaration(p) || ts.isClassExpression(p)) {
    return p.name !== id;
  }
  if (ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return false;
  if (ts.isImportSpecifier(p) || ts.isImportClause(p) || ts.isNamespaceImport(p) || ts.isExportSpecifier(p)) return false;
  return true;
}

/** PRELUDE names the code reads (type positions left out). */
function preludeReads(source: ts.SourceFile): Set<string> {
  const reads = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return;
    if (ts.isIdentifier(node) && preludeNames.has(node.text) && isReference(node)) reads.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return reads;
}

function importReplacement(statement: ts.ImportDeclaration): { text: string; names: string[] } {
  const spec = (statement.moduleSpecifier as ts.StringLiteral).text;
  const load = `await __import(${JSON.stringify(spec)})`;
  const clause = statement.importClause;
  if (!clause) return { text: `${load};`, names: [] };
  if (clause.isTypeOnly) return { text: '', names: [] };
  const parts: string[] = [];
  const names: string[] = [];
  if (clause.name) {
    parts.push(`const ${clause.name.text} = (${load}).default;`);
    names.push(clause.name.text);
  }
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) {
    parts.push(`const ${bindings.name.text} = ${load};`);
    names.push(bindings.name.text);
  } else if (bindings) {
    const values = bindings.elements.filter((e) => !e.isTypeOnly);
    if (values.length > 0) {
      const fields = values.map((e) => (e.propertyName ? `${e.propertyName.getText()}: ${e.name.text}` : e.name.text));
      parts.push(`const { ${fields.join(', ')} } = ${load};`);
      names.push(...values.map((e) => e.name.text));
    }
  }
  return { text: parts.join(' '), names };
}

/** Rewrites and transpiles a block (see the file's comment). Throws on what a sample cannot be. */
export function instrument(block: Block): Instrumented {
  const where = `${block.file}:${block.line}`;
  const source = ts.createSourceFile('sample.ts', block.code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  // A PRELUDE name the block declares itself is its own, not the harness's.
  const ownNames = new Set(source.statements.flatMap((s) => (ts.isImportDeclaration(s) ? importReplacement(s).names : declaredBy(s))));
  const params = [...preludeReads(source)].filter((name) => !ownNames.has(name)).sort();
  const dynamic = DYNAMIC_NAMES.filter((name) => params.includes(name));
  const declared: string[] = [];
  const imports: string[] = [];
  const statementLines: number[] = [];
  const edits: Array<{ start: number; end: number; text: string }> = [];

  source.statements.forEach((statement, index) => {
    statementLines.push(block.line + source.getLineAndCharacterOfPosition(statement.getStart()).line);
    if (ts.isImportDeclaration(statement)) {
      imports.push((statement.moduleSpecifier as ts.StringLiteral).text);
      const { text, names } = importReplacement(statement);
      edits.push({ start: statement.getStart(), end: statement.end, text });
      declared.push(...names);
    } else if (ts.isImportEqualsDeclaration(statement) || ts.isExportAssignment(statement)) {
      throw new Error(`${where}: a runnable block cannot use \`${statement.getText().split('\n')[0]}\``);
    } else if (ts.isExportDeclaration(statement)) {
      edits.push({ start: statement.getStart(), end: statement.end, text: '' });
    } else {
      const modifiers = ts.canHaveModifiers(statement) ? (ts.getModifiers(statement) ?? []) : [];
      if (modifiers.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)) throw new Error(`${where}: a runnable block cannot \`export default\``);
      const exported = modifiers.find((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (exported) edits.push({ start: exported.getStart(), end: exported.end, text: '' });
      declared.push(...declaredBy(statement));
    }
    // Awaited only when the harness has something to do: a statement's timing is the block's own
    // (`session.subscribe` right after `.start()` must see the session load, as in an app).
    const call = `const __r = __step(${index}, { ${declared.join(', ')} }); `;
    const then = dynamic.length > 0 ? `({ ${dynamic.join(', ')} } = __r instanceof Promise ? await __r : __r);` : 'if (__r instanceof Promise) await __r;';
    edits.push({ start: statement.end, end: statement.end, text: ` ;{ ${call}${then} }` });
  });

  let text = block.code;
  // From the end; at one position, a replacement before an insertion.
  for (const edit of edits.sort((a, b) => b.start - a.start || b.end - a.end)) text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);

  const output = ts.transpileModule(text, {
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleDetection: ts.ModuleDetectionKind.Force, verbatimModuleSyntax: false, sourceMap: false },
  });
  const syntax = (output.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (syntax.length > 0) throw new Error(`${where}: ${syntax.join('; ')}`);
  const js = output.outputText.replace(/^export \{\};?\s*$/m, '');
  return { js, params, imports, statementLines };
}

/** A specifier of the block → its module: the package's own from src/, the rest from node_modules. */
export async function importFor(spec: string): Promise<unknown> {
  if (spec === 'vitest') return vitest;
  const entry = ENTRIES[spec];
  if (entry) return import(/* @vite-ignore */ join(root, entry));
  if (spec.startsWith('.') || spec.startsWith('/')) throw new Error(`a sample cannot import a path of its own: ${spec}`);
  return import(/* @vite-ignore */ spec);
}

const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...args: unknown[]) => Promise<void>;

/** `OAuthError invalid_client: …`: an error's name, code and message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}`;
}

/**
 * Runs the block in the harness; rejects with `file:line: …` (the line of the statement that
 * failed) when it throws, when a promise it awaits rejects, or when the harness finds it left
 * something wrong (a failed grant output, a storage error, a callback never called).
 */
export async function runBlock(block: Block, harness: BlockHarness): Promise<void> {
  const instrumented = instrument(block);
  const fn = new AsyncFunction('__import', '__step', 'console', ...instrumented.params, `"use strict";\n${instrumented.js}\n//# sourceURL=${block.file}.L${block.line}.sample.js`);
  let completed = -1;
  let bindings: Record<string, unknown> = {};
  const step = (index: number, current: Record<string, unknown>) => {
    bindings = current;
    // A failure of the harness's own step (the user could not approve) names this statement.
    const next = harness.step(index, current);
    if (!(next instanceof Promise)) completed = index;
    return next instanceof Promise ? next.then((values) => ((completed = index), values)) : next;
  };
  const lines: string[] = [];
  const log = (...args: unknown[]) => void lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  const sampleConsole = { ...globalThis.console, log, info: log, warn: log, error: log, debug: log };

  let failure: string | undefined;
  let cause: unknown;
  try {
    const values = await harness.values(instrumented.params);
    vitest.vi.stubGlobal('fetch', harness.fetch);
    for (const [name, value] of Object.entries(harness.env)) vitest.vi.stubEnv(name, value);
    await fn(importFor, step, sampleConsole, ...values);
    const problems = await harness.finish(bindings);
    if (problems.length > 0) failure = `${block.file}:${block.line}: the block ran, but ${problems.join('; ')}`;
  } catch (error) {
    cause = error;
    const line = instrumented.statementLines[completed + 1] ?? block.line;
    failure = `${block.file}:${line}: ${describeError(error)}`;
  } finally {
    await harness.cleanup(bindings).catch(() => {});
    vitest.vi.unstubAllGlobals();
    vitest.vi.unstubAllEnvs();
  }
  if (failure !== undefined) {
    const transcript = [...lines.map((l) => `console: ${l}`), ...harness.transcript()];
    throw new Error(transcript.length > 0 ? `${failure}\n  ${transcript.join('\n  ')}` : failure, { cause });
  }
}
