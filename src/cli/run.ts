import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { login, logout, status, token, type Flags, type Io } from './commands.js';
import { DEMO_PROVIDERS, runDemo, type DemoOptions } from './demo.js';
import { EXIT, toCliError, usageError } from './exit-codes.js';

export const USAGE = `usage: grantflow <command> [options]

commands:
  login <provider> --client-id <id>   sign in in the browser (loopback redirect on 127.0.0.1) and store the tokens
      <provider>                      a built-in provider: poe, path-of-exile, openrouter, eurouter, poems
      --provider-file <path.json>     provider data from a JSON file (the name defaults to its id)
      --client-secret <secret>        a confidential client's secret (better: env GRANTFLOW_CLIENT_SECRET)
      --scope <scopes>                scopes to ask for (repeat, or space-separated); default: the provider's
      --redirect-uri <uri>            the registered loopback redirect, e.g. http://127.0.0.1:8000/callback
      --port <n>                      listen on this port (default: a free one)
      --user-agent <ua>               the User-Agent a provider requires (Path of Exile)
      --no-browser                    do not open the browser: only print the URL
      --timeout <seconds>             give up after this long (default 300)
      --device                        the device authorization grant instead: prints a code to enter elsewhere
  token <provider>                    print a fresh access token (refreshed when needed)
  logout <provider>                   revoke (where the provider can) and delete the stored tokens
  status [provider…]                  signed-in providers, expiry and scopes (never a token)
  demo [--provider <${DEMO_PROVIDERS.join('|')}>]
                                      a full code + PKCE flow against a local authorization server

options on every command:
  --json                              machine-readable output on stdout; errors as {"error":{"code","message"}}
  --help, -h                          this help
  --version, -v                       the version

files: tokens.json and clients.json (mode 0600) in $GRANTFLOW_CONFIG_DIR, else
  $XDG_CONFIG_HOME/grantflow (~/.config/grantflow), %APPDATA%\\grantflow, ~/Library/Application Support/grantflow

exit codes:
  0 ok   1 unexpected error   2 usage   3 not signed in / sign in again   4 access denied
  5 timed out   6 redirect port in use   7 invalid configuration (provider, client id or secret)   130 cancelled (Ctrl-C)`;

const COMMON: NonNullable<ParseArgsConfig['options']> = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const OPTIONS: Record<string, NonNullable<ParseArgsConfig['options']>> = {
  login: {
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'provider-file': { type: 'string' },
    issuer: { type: 'string' },
    scope: { type: 'string', multiple: true },
    'redirect-uri': { type: 'string' },
    port: { type: 'string' },
    'user-agent': { type: 'string' },
    browser: { type: 'boolean' },
    'no-browser': { type: 'boolean' },
    timeout: { type: 'string' },
    device: { type: 'boolean' },
  },
  token: { 'client-secret': { type: 'string' } },
  logout: { 'client-secret': { type: 'string' } },
  status: {},
  demo: { provider: { type: 'string' } },
};

export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++, dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (!existsSync(path)) continue;
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'grantflow' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

export interface RunDeps {
  demo?: DemoOptions;
}

function parse(command: string, args: string[]): { positionals: string[]; flags: Flags } {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...COMMON, ...OPTIONS[command] }, allowPositionals: true, strict: true });
    const flags: Flags = { ...(values as Record<string, string | boolean | string[] | undefined>), json: values.json === true };
    if (values['no-browser']) flags.browser = false;
    return { positionals, flags };
  } catch (error) {
    throw usageError(`${command}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
}

/** Runs one command line; resolves with the exit code. Expected failures are one line (or JSON), never a stack trace. */
export async function run(args: string[], io: Io, deps: RunDeps = {}): Promise<number> {
  const [command, ...rest] = args;
  const json = args.includes('--json');
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.out(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (command === '--version' || command === '-v' || command === 'version') {
      io.out(json ? `${JSON.stringify({ version: version() })}\n` : `${version()}\n`);
      return EXIT.ok;
    }
    if (!(command in OPTIONS)) throw usageError(`unknown command "${command}"`, true);
    const { positionals, flags } = parse(command, rest);
    if (flags.help) {
      io.out(`${USAGE}\n`);
      return EXIT.ok;
    }
    switch (command) {
      case 'login':
        return await login(positionals, flags, io);
      case 'token':
        return await token(positionals, flags, io);
      case 'logout':
        return await logout(positionals, flags, io);
      case 'status':
        return await status(positionals, flags, io);
      default: {
        const provider = typeof flags.provider === 'string' ? flags.provider : undefined;
        return await runDemo(provider, (line) => io.out(`${line}\n`), deps.demo);
      }
    }
  } catch (thrown) {
    const error = toCliError(thrown);
    if (json) io.out(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`);
    else {
      io.err(`grantflow: ${error.message}\n`);
      if (error.showUsage) io.err(`${USAGE}\n`);
      else if (error.exitCode === EXIT.usage) io.err('run `grantflow --help` for the commands and options\n');
    }
    return error.exitCode;
  }
}
