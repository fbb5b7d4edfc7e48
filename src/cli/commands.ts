import { createActor, toPromise, waitFor } from 'xstate';
import { deviceAuthorizationMachine } from '../../machines/device-authorization.js';
import { createOAuthClient, type OAuthClient } from '../client.js';
import { isOAuthError, OAuthError } from '../errors.js';
import { tokensKey } from '../grants/storage-keys.js';
import { provideServices } from '../provide-services.js';
import type { Provider } from '../provider/schema.js';
import type { Storage } from '../services/types.js';
import { fileStorage } from '../storage/file.js';
import { plainTokenSet, type TokenSet } from '../tokens.js';
import { configDir, readClients, removeClient, saveClient, tokensPath, type ClientEntry, type ProviderSource } from './config.js';
import { CliError, EXIT, usageError } from './exit-codes.js';
import { callbackPages, loopbackTarget, startLoopback } from './loopback.js';
import { cannotOpenBrowser } from './open-browser.js';
import { BUILT_IN_NAMES, builtInName, fileSource, loadProvider } from './provider-source.js';

/** What a command touches of the process: its streams, environment and signals (tests give their own). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal: the progress line is drawn only then. */
  errIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** Registers a Ctrl-C handler; returns its removal. */
  onInterrupt(handler: () => void): () => void;
  openBrowser(url: string): void;
}

export interface Flags {
  json: boolean;
  [name: string]: string | boolean | string[] | undefined;
}

const str = (flags: Flags, name: string): string | undefined => {
  const value = flags[name];
  return typeof value === 'string' ? value : undefined;
};

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function storageFor(io: Io): { dir: string; storage: Storage } {
  const dir = configDir(io.env);
  return { dir, storage: fileStorage(tokensPath(dir)) };
}

/** The client secret: `--client-secret` or `GRANTFLOW_CLIENT_SECRET`. Never printed, never stored by the CLI. */
const clientSecretOf = (flags: Flags, io: Io) => str(flags, 'client-secret') ?? (io.env.GRANTFLOW_CLIENT_SECRET || undefined);

function scopesOf(flags: Flags): string[] | undefined {
  const raw = flags.scope;
  const list = (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []).flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
  return list.length > 0 ? list : undefined;
}

function notSignedIn(name: string): CliError {
  return new CliError(EXIT.notSignedIn, 'not_signed_in', `not signed in to "${name}": run \`grantflow login ${name} --client-id <id>\``);
}

/** A library error of a signed-in provider, with the CLI's wording for "sign in again". */
function forProvider(name: string, error: unknown): unknown {
  if (isOAuthError(error) && error.code === 'reauthorization_required') {
    return new CliError(EXIT.notSignedIn, 'reauthorization_required', `the sign-in to "${name}" has ended (${error.message}): run \`grantflow login ${name}\` again`);
  }
  return error;
}

interface ResolvedLogin {
  name: string;
  source: ProviderSource;
  provider: Provider;
  clientId: string;
  userAgent?: string;
  redirectUri?: string;
}

async function resolveLogin(positional: string | undefined, flags: Flags, remembered: Record<string, ClientEntry>): Promise<ResolvedLogin> {
  const issuer = str(flags, 'issuer');
  const file = str(flags, 'provider-file');
  const previous = positional === undefined ? undefined : remembered[positional];
  let source: ProviderSource;
  if (issuer !== undefined) source = { issuer };
  else if (file !== undefined) source = fileSource(file);
  else if (positional === undefined) throw usageError('login needs a provider: grantflow login <provider> --client-id <id> (or --provider-file <path.json>)');
  else if (builtInName(positional)) source = { builtin: builtInName(positional)! };
  else if (previous) source = previous.source;
  else {
    throw new CliError(EXIT.invalidConfiguration, 'invalid_provider', `unknown provider "${positional}"; built in: ${BUILT_IN_NAMES.join(', ')} (or describe yours with --provider-file <path.json>)`);
  }
  const provider = await loadProvider(source);
  const name = positional ?? provider.id;
  const again = remembered[name];
  const clientId = str(flags, 'client-id') ?? again?.clientId;
  if (!clientId) throw usageError(`login needs --client-id: the client id registered with ${provider.name}`);
  const userAgent = str(flags, 'user-agent') ?? (again?.clientId === clientId ? again.userAgent : undefined);
  if (provider.userAgent?.required && !userAgent) {
    throw usageError(`${provider.name} requires --user-agent "${provider.userAgent.template.replace('{clientId}', clientId)}"`);
  }
  const redirectUri = str(flags, 'redirect-uri');
  return { name, source, provider, clientId, ...(userAgent ? { userAgent } : {}), ...(redirectUri ? { redirectUri } : {}) };
}

function parseTimeout(flags: Flags): number {
  const raw = str(flags, 'timeout');
  if (raw === undefined) return 300;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) throw usageError(`--timeout must be a positive number of seconds, got "${raw}"`);
  return seconds;
}

/**
 * Waits for `work`, or the timeout (exit 5), or Ctrl-C (exit 130), drawing a progress line on a
 * terminal. `cleanup` runs before it resolves or rejects, whichever way it ends.
 */
/**
 * Ctrl-C, from the start of a command that waits: a rejection with exit code 130 (the command
 * closes what it opened on the way out). `dispose()` gives SIGINT back to Node.
 */
function interruption(io: Io): { interrupted: Promise<never>; dispose(): void } {
  let dispose = () => {};
  const interrupted = new Promise<never>((_, reject) => {
    dispose = io.onInterrupt(() => reject(new CliError(EXIT.cancelled, 'cancelled', 'cancelled')));
  });
  interrupted.catch(() => {});
  return { interrupted, dispose };
}

async function waitWithProgress<T>(io: Io, work: Promise<T>, options: { seconds: number; what: string; interrupted: Promise<never>; onStop?: () => void }): Promise<T> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  const draw = () => {
    const elapsed = Math.round((Date.now() - started) / 1000);
    io.err(`\r\x1b[2K${options.what}… ${elapsed} s of ${options.seconds} s (Ctrl-C to cancel)`);
  };
  if (io.errIsTTY) {
    draw();
    ticker = setInterval(draw, 1000);
  }
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CliError(EXIT.timeout, 'timeout', `timed out after ${options.seconds} s ${options.what.toLowerCase()} (use --timeout to wait longer)`)), options.seconds * 1000);
      }),
      options.interrupted,
    ]);
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    if (io.errIsTTY) io.err('\r\x1b[2K');
    options.onStop?.();
  }
}

/** What login prints and `--json` returns: never a token. */
function summary(name: string, clientId: string, tokens: TokenSet) {
  return { provider: name, clientId, expiresAt: iso(tokens.expiresAt), scopes: tokens.scopes ?? [], hasRefreshToken: tokens.refreshToken !== undefined };
}

function describeExpiry(expiresAt: number | undefined): string {
  if (expiresAt === undefined) return 'does not expire';
  const seconds = Math.round((expiresAt - Date.now()) / 1000);
  if (seconds <= 0) return `expired ${iso(expiresAt)}`;
  return `expires ${iso(expiresAt)} (in ${seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${seconds} s`})`;
}

function printSignedIn(io: Io, flags: Flags, name: string, clientId: string, tokens: TokenSet) {
  if (flags.json) io.out(`${JSON.stringify(summary(name, clientId, tokens))}\n`);
  else {
    const scopes = tokens.scopes?.length ? `; scopes: ${tokens.scopes.join(' ')}` : '';
    io.out(`signed in to ${name} (client ${clientId}); the token ${describeExpiry(tokens.expiresAt)}${scopes}${tokens.refreshToken ? '; refreshable' : ''}\n`);
  }
}

export async function login(positionals: string[], flags: Flags, io: Io): Promise<number> {
  if (positionals.length > 1) throw usageError(`login takes one provider, got: ${positionals.join(' ')}`);
  // Ctrl-C is ours from here: whenever it comes, the loopback server is closed and the exit is 130.
  const interrupt = interruption(io);
  try {
    return await loginUntilInterrupted(positionals, flags, io, interrupt.interrupted);
  } finally {
    interrupt.dispose();
  }
}

async function loginUntilInterrupted(positionals: string[], flags: Flags, io: Io, interrupted: Promise<never>): Promise<number> {
  const { dir, storage } = storageFor(io);
  const resolved = await resolveLogin(positionals[0], flags, await readClients(dir));
  const seconds = parseTimeout(flags);
  const clientSecret = clientSecretOf(flags, io);
  const scopes = scopesOf(flags);
  if (flags.device) return loginWithDevice(resolved, { storage, dir, clientSecret, scopes, seconds, interrupted }, flags, io);
  if (!resolved.provider.authorization) {
    throw new CliError(EXIT.invalidConfiguration, 'invalid_provider', `${resolved.provider.name} has no authorization endpoint: it cannot sign in a user in a browser${resolved.provider.deviceAuthorization ? ' (try --device)' : ''}`);
  }
  const target = loopbackTarget({ ...(resolved.redirectUri ? { redirectUri: resolved.redirectUri } : {}), ...(str(flags, 'port') !== undefined ? { port: str(flags, 'port')! } : {}) });

  let client: OAuthClient | undefined;
  let finish!: (result: { tokens: TokenSet } | { error: unknown }) => void;
  const finished = new Promise<{ tokens: TokenSet } | { error: unknown }>((resolve) => (finish = resolve));
  let done = false;
  const server = await Promise.race([interrupted, startLoopback(target, async (callbackUrl) => {
    if (done || !client) return { status: 410, html: callbackPages.failure('This sign-in is over').html };
    try {
      const tokens = await client.completeAuthorization(callbackUrl);
      if (done) return callbackPages.failure('This sign-in is over');
      done = true;
      finish({ tokens });
      return callbackPages.success(resolved.provider.name);
    } catch (error) {
      // Not this flow's callback (a wrong or missing state, a mangled URL, a second use): ignored, the flow goes on waiting.
      if (isOAuthError(error) && ['state_mismatch', 'invalid_callback', 'flow_not_found'].includes(error.code)) {
        return callbackPages.failure(`Not a callback of this sign-in (${error.code})`);
      }
      if (done) return callbackPages.failure('This sign-in is over');
      done = true;
      finish({ error });
      return callbackPages.failure(`Sign-in failed: ${isOAuthError(error) ? error.code : 'error'}`);
    }
  })]);
  try {
    client = createOAuthClient({
      provider: resolved.provider,
      clientId: resolved.clientId,
      redirectUri: server.redirectUri,
      storage,
      ...(clientSecret ? { clientSecret } : {}),
      ...(resolved.userAgent ? { userAgent: resolved.userAgent } : {}),
    });
    const { url } = await Promise.race([interrupted, client.startAuthorization({ key: resolved.name, ...(scopes ? { scopes } : {}) })]);
    const why = flags.browser === false ? 'with --no-browser' : cannotOpenBrowser(io.env);
    if (why === undefined) {
      io.openBrowser(url);
      io.err(`Opening your browser to sign in to ${resolved.provider.name}. If it does not open, visit:\n  ${url}\n`);
    } else {
      io.err(`Open this URL in a browser on this machine to sign in to ${resolved.provider.name} (not opened: ${why}):\n  ${url}\n`);
    }
    io.err(`Waiting for the redirect to ${server.redirectUri}\n`);
    const result = await waitWithProgress(io, finished, { seconds, what: 'Waiting for the sign-in in the browser', interrupted, onStop: () => (done = true) });
    if ('error' in result) throw result.error;
    const { storageError, ...tokens } = result.tokens as TokenSet & { storageError?: OAuthError };
    if (storageError) throw new CliError(EXIT.unexpected, 'storage_error', `signed in, but the tokens could not be stored in ${tokensPath(dir)}: ${storageError.message}`);
    await saveClient(dir, resolved.name, {
      providerId: resolved.provider.id,
      source: resolved.source,
      clientId: resolved.clientId,
      redirectUri: server.redirectUri,
      ...(resolved.userAgent ? { userAgent: resolved.userAgent } : {}),
      ...(clientSecret ? { confidential: true } : {}),
    });
    printSignedIn(io, flags, resolved.name, resolved.clientId, tokens);
    return EXIT.ok;
  } finally {
    await server.close();
  }
}

async function loginWithDevice(
  resolved: ResolvedLogin,
  options: { storage: Storage; dir: string; clientSecret: string | undefined; scopes: string[] | undefined; seconds: number; interrupted: Promise<never> },
  flags: Flags,
  io: Io,
): Promise<number> {
  if (!resolved.provider.deviceAuthorization) {
    throw new CliError(EXIT.invalidConfiguration, 'invalid_provider', `${resolved.provider.name} does not support the device authorization grant (no deviceAuthorization endpoint in its data)`);
  }
  const machine = provideServices(deviceAuthorizationMachine, { storage: options.storage, ...(options.clientSecret ? { secrets: { clientSecret: options.clientSecret } } : {}) });
  const actor = createActor(machine, {
    input: {
      provider: resolved.provider,
      client: { clientId: resolved.clientId, ...(resolved.userAgent ? { userAgent: resolved.userAgent } : {}) },
      key: resolved.name,
      ...(options.scopes ? { scopes: options.scopes } : {}),
    },
  }).start();
  try {
    const output = toPromise(actor);
    const waiting = await waitWithProgress(io, waitFor(actor, (s) => s.matches('awaitingUser') || s.status !== 'active', { timeout: Infinity }), { seconds: options.seconds, what: 'Asking for a device code', interrupted: options.interrupted });
    if (waiting.status === 'active') {
      const { userCode, verificationUri, verificationUriComplete } = waiting.context;
      io.err(`To sign in to ${resolved.provider.name}, open ${verificationUri} on any device and enter the code:\n\n    ${userCode}\n\n`);
      if (verificationUriComplete) io.err(`(or open ${verificationUriComplete})\n`);
    }
    const result = await waitWithProgress(io, output, { seconds: options.seconds, what: 'Waiting for the approval', interrupted: options.interrupted });
    if (result.status !== 'succeeded') throw result.error;
    const tokens = plainTokenSet(result.tokens);
    if (result.storageError) throw new CliError(EXIT.unexpected, 'storage_error', `signed in, but the tokens could not be stored in ${tokensPath(options.dir)}: ${result.storageError.message}`);
    await saveClient(options.dir, resolved.name, {
      providerId: resolved.provider.id,
      source: resolved.source,
      clientId: resolved.clientId,
      device: true,
      ...(resolved.userAgent ? { userAgent: resolved.userAgent } : {}),
      ...(options.clientSecret ? { confidential: true } : {}),
    });
    printSignedIn(io, flags, resolved.name, resolved.clientId, tokens);
    return EXIT.ok;
  } finally {
    actor.stop();
  }
}

async function signedInClient(name: string, flags: Flags, io: Io): Promise<{ entry: ClientEntry; client: OAuthClient; storage: Storage; dir: string }> {
  const { dir, storage } = storageFor(io);
  const entry = (await readClients(dir))[name];
  if (!entry) throw notSignedIn(name);
  const provider = await loadProvider(entry.source);
  const clientSecret = clientSecretOf(flags, io);
  const client = createOAuthClient({
    provider,
    clientId: entry.clientId,
    storage,
    ...(entry.redirectUri ? { redirectUri: entry.redirectUri } : {}),
    ...(entry.userAgent ? { userAgent: entry.userAgent } : {}),
    ...(clientSecret ? { clientSecret } : {}),
  });
  return { entry, client, storage, dir };
}

function oneProvider(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw usageError(`usage: grantflow ${command} <provider>`);
  return positionals[0]!;
}

export async function token(positionals: string[], flags: Flags, io: Io): Promise<number> {
  const name = oneProvider('token', positionals);
  const { entry, client } = await signedInClient(name, flags, io);
  let tokens: TokenSet;
  try {
    tokens = await client.getAccessToken({ key: name });
  } catch (error) {
    if (isOAuthError(error) && error.code === 'invalid_client' && entry.confidential && !clientSecretOf(flags, io)) {
      throw new CliError(EXIT.invalidConfiguration, 'invalid_client', `refreshing the ${name} token needs the client secret: set GRANTFLOW_CLIENT_SECRET`);
    }
    throw forProvider(name, error);
  }
  if (flags.json) io.out(`${JSON.stringify({ accessToken: tokens.accessToken, expiresAt: iso(tokens.expiresAt), scopes: tokens.scopes ?? [] })}\n`);
  else io.out(`${tokens.accessToken}\n`);
  return EXIT.ok;
}

export async function logout(positionals: string[], flags: Flags, io: Io): Promise<number> {
  const name = oneProvider('logout', positionals);
  const { dir, storage } = storageFor(io);
  const entry = (await readClients(dir))[name];
  if (!entry) {
    if (flags.json) io.out(`${JSON.stringify({ provider: name, signedIn: false, revoked: false, deleted: false })}\n`);
    else io.out(`not signed in to ${name}: nothing to do\n`);
    return EXIT.ok;
  }
  let revoked = false;
  let note = '';
  let deleted = false;
  try {
    const { client } = await signedInClient(name, flags, io);
    const result = await client.logout({ key: name });
    revoked = result.revoked;
    deleted = result.deleted;
    if (result.revocationError) note = `; the provider did not confirm the revocation (${result.revocationError.code})`;
    if (result.storageError) throw new CliError(EXIT.unexpected, 'storage_error', result.storageError.message);
  } catch (error) {
    if (error instanceof CliError && error.code === 'storage_error') throw error;
    // The provider data cannot be loaded any more (a moved file): forget the tokens all the same.
    await storage.delete(tokensKey(entry.providerId, entry.clientId, name));
    deleted = true;
    note = `; not revoked (${error instanceof Error ? error.message : String(error)})`;
  }
  await removeClient(dir, name);
  if (flags.json) io.out(`${JSON.stringify({ provider: name, signedIn: true, revoked, deleted })}\n`);
  else io.out(`signed out of ${name}: the tokens are deleted${revoked ? ' and revoked' : ''}${note}\n`);
  return EXIT.ok;
}

interface StatusRow {
  provider: string;
  clientId: string;
  source: string;
  signedIn: boolean;
  expiresAt: string | null;
  scopes: string[];
  hasRefreshToken: boolean;
}

export async function status(positionals: string[], flags: Flags, io: Io): Promise<number> {
  const { dir, storage } = storageFor(io);
  const clients = await readClients(dir);
  const names = positionals.length > 0 ? positionals : Object.keys(clients).sort();
  const rows: StatusRow[] = [];
  for (const name of names) {
    const entry = clients[name];
    if (!entry) {
      rows.push({ provider: name, clientId: '', source: '', signedIn: false, expiresAt: null, scopes: [], hasRefreshToken: false });
      continue;
    }
    let stored: Partial<TokenSet> | undefined;
    try {
      const raw = await storage.get(tokensKey(entry.providerId, entry.clientId, name));
      stored = raw === undefined ? undefined : (JSON.parse(raw) as Partial<TokenSet>);
    } catch {
      stored = undefined;
    }
    rows.push({
      provider: name,
      clientId: entry.clientId,
      source: 'builtin' in entry.source ? entry.source.builtin : 'issuer' in entry.source ? entry.source.issuer : entry.source.file,
      signedIn: typeof stored?.accessToken === 'string',
      expiresAt: iso(typeof stored?.expiresAt === 'number' ? stored.expiresAt : undefined),
      scopes: Array.isArray(stored?.scopes) ? stored.scopes : [],
      hasRefreshToken: typeof stored?.refreshToken === 'string',
    });
  }
  // Asked about given providers, a script learns from the exit code whether each is signed in.
  const code = positionals.length > 0 && rows.some((row) => !row.signedIn) ? EXIT.notSignedIn : EXIT.ok;
  if (flags.json) {
    io.out(`${JSON.stringify(rows)}\n`);
    return code;
  }
  if (rows.length === 0) {
    io.out(`not signed in to any provider (config: ${dir})\n`);
    return EXIT.ok;
  }
  for (const row of rows) {
    if (!row.clientId) {
      io.out(`${row.provider}: not signed in\n`);
      continue;
    }
    const state = row.signedIn ? `signed in, ${describeExpiry(row.expiresAt === null ? undefined : Date.parse(row.expiresAt))}${row.hasRefreshToken ? ', refreshable' : ''}` : 'not signed in';
    io.out(`${row.provider}: ${state}; client ${row.clientId}; ${row.scopes.length ? `scopes: ${row.scopes.join(' ')}` : 'no scopes'}\n`);
  }
  return code;
}
