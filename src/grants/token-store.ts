import { OAuthError } from '../errors.js';
import type { Services } from '../services/types.js';
import type { TokenSet } from '../tokens.js';
import { tokensKey } from './storage-keys.js';

/** Where a grant keeps a TokenSet: which provider, which client, which key (user or account). */
export interface TokenLocation {
  providerId: string;
  clientId: string;
  key?: string | undefined;
}

const keyOf = (at: TokenLocation) => tokensKey(at.providerId, at.clientId, at.key);
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function readTokens(services: Services, at: TokenLocation): Promise<TokenSet | undefined> {
  let raw: string | undefined;
  try {
    raw = await services.storage.get(keyOf(at));
  } catch (error) {
    throw new OAuthError('storage_error', `could not read the stored tokens: ${reason(error)}`, { cause: error });
  }
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as TokenSet;
  } catch (error) {
    throw new OAuthError('storage_error', 'the stored tokens are not valid JSON', { cause: error });
  }
}

export async function writeTokens(services: Services, at: TokenLocation, tokens: TokenSet): Promise<void> {
  try {
    await services.storage.set(keyOf(at), JSON.stringify(tokens));
  } catch (error) {
    throw new OAuthError('storage_error', `the tokens were issued but could not be stored: ${reason(error)}`, { cause: error });
  }
}

export async function deleteTokens(services: Services, at: TokenLocation): Promise<void> {
  try {
    await services.storage.delete(keyOf(at));
  } catch (error) {
    throw new OAuthError('storage_error', `could not delete the stored tokens: ${reason(error)}`, { cause: error });
  }
}
