import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { discoverProvider } from '../discovery/discover.js';
import { isOAuthError } from '../errors.js';
import { parseProvider } from '../provider/parse.js';
import type { Provider } from '../provider/schema.js';
import { euRouter, openRouter, pathOfExile, poe, poems } from '../providers/index.js';
import type { ProviderSource } from './config.js';
import { CliError, EXIT } from './exit-codes.js';

/** The built-in providers by name (their ids), and the camelCase export names as aliases. */
const BUILT_IN: Record<string, Provider> = { poe, 'path-of-exile': pathOfExile, openrouter: openRouter, eurouter: euRouter, poems };
const ALIASES: Record<string, string> = { pathOfExile: 'path-of-exile', openRouter: 'openrouter', euRouter: 'eurouter' };

export const BUILT_IN_NAMES = Object.keys(BUILT_IN);

export function builtInName(name: string): string | undefined {
  const id = ALIASES[name] ?? name;
  return id in BUILT_IN ? id : undefined;
}

const invalid = (message: string) => new CliError(EXIT.invalidConfiguration, 'invalid_provider', message);

export async function loadProvider(source: ProviderSource): Promise<Provider> {
  if ('builtin' in source) {
    const provider = BUILT_IN[source.builtin];
    if (!provider) throw invalid(`unknown provider "${source.builtin}"; built in: ${BUILT_IN_NAMES.join(', ')}`);
    return provider;
  }
  if ('issuer' in source) {
    try {
      return await discoverProvider(source.issuer);
    } catch (error) {
      if (isOAuthError(error)) throw invalid(`discovery at ${source.issuer} failed: ${error.message}`);
      throw error;
    }
  }
  let text: string;
  try {
    text = await readFile(source.file, 'utf8');
  } catch (error) {
    throw invalid(`cannot read the provider file ${source.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw invalid(`the provider file ${source.file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return parseProvider(data);
  } catch (error) {
    if (isOAuthError(error)) throw invalid(`the provider file ${source.file} is invalid: ${error.message}`);
    throw error;
  }
}

export const fileSource = (path: string): ProviderSource => ({ file: resolve(path) });
