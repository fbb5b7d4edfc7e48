import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT } from './exit-codes.js';

/**
 * Where `grantflow` keeps its files: `GRANTFLOW_CONFIG_DIR`, else `$XDG_CONFIG_HOME/grantflow`
 * (`~/.config/grantflow`) on Linux and other Unixes, `%APPDATA%\grantflow` on Windows,
 * `~/Library/Application Support/grantflow` on macOS.
 */
export function configDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (env.GRANTFLOW_CONFIG_DIR) return env.GRANTFLOW_CONFIG_DIR;
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'grantflow');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'grantflow');
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'grantflow');
}

/** Where a provider's data comes from: a built-in provider, or a provider JSON file. */
/** Where a provider's data comes from: built in, a JSON file, or the issuer's metadata (discovered at each use). */
export type ProviderSource = { builtin: string } | { file: string } | { issuer: string };

/** What `login` remembers of a provider so that `token`, `logout` and `status` need only its name. Never a secret. */
export interface ClientEntry {
  providerId: string;
  source: ProviderSource;
  clientId: string;
  redirectUri?: string;
  userAgent?: string;
  /** The client authenticated with a secret at login: refreshing needs it again (GRANTFLOW_CLIENT_SECRET). */
  confidential?: boolean;
  /** Signed in with the device grant. */
  device?: boolean;
}

interface ClientsFile {
  version: 1;
  clients: Record<string, ClientEntry>;
}

export const tokensPath = (dir: string) => join(dir, 'tokens.json');
const clientsPath = (dir: string) => join(dir, 'clients.json');

export async function readClients(dir: string): Promise<Record<string, ClientEntry>> {
  let text: string;
  try {
    text = await readFile(clientsPath(dir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    const data = JSON.parse(text) as Partial<ClientsFile>;
    return data && typeof data.clients === 'object' && data.clients !== null ? data.clients : {};
  } catch {
    throw new CliError(EXIT.invalidConfiguration, 'invalid_configuration', `${clientsPath(dir)} is not valid JSON: fix or delete it`);
  }
}

/** Atomic (a temporary file renamed over the old one), mode 0600, in a 0700 directory. */
async function writeClients(dir: string, clients: Record<string, ClientEntry>): Promise<void> {
  const path = clientsPath(dir);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const file: ClientsFile = { version: 1, clients };
  await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, path);
}

export async function saveClient(dir: string, name: string, entry: ClientEntry): Promise<void> {
  const clients = await readClients(dir);
  clients[name] = entry;
  await writeClients(dir, clients);
}

export async function removeClient(dir: string, name: string): Promise<void> {
  const clients = await readClients(dir);
  if (!(name in clients)) return;
  delete clients[name];
  await writeClients(dir, clients);
}
