import * as z from 'zod/mini';
import { OAuthError } from '../errors.js';
import type { Services } from '../services/types.js';
import { plainTokenSet, type TokenSet } from '../tokens.js';
import { tokensKey } from './storage-keys.js';

/** Where a grant keeps a TokenSet: which provider, which client, which key (user or account). */
export interface TokenLocation {
  providerId: string;
  clientId: string;
  key?: string | undefined;
}

/** A stored TokenSet is validated when read: corrupt data is a storage_error, never a TokenSet without a credential. */
const StoredTokenSetSchema = z.object({
  accessToken: z.string().check(z.minLength(1)),
  tokenType: z.string(),
  expiresAt: z.optional(z.number().check(z.refine(Number.isFinite))),
  issuedAt: z.optional(z.number().check(z.refine(Number.isFinite))),
  refreshToken: z.optional(z.string().check(z.minLength(1))),
  scopes: z.optional(z.array(z.string())),
  extra: z.record(z.string(), z.unknown()),
  idTokenClaims: z.optional(
    z.looseObject({
      iss: z.string(),
      sub: z.string().check(z.minLength(1)),
      aud: z.union([z.string(), z.array(z.string())]),
      exp: z.number(),
      iat: z.number(),
    }),
  ),
});

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
  const known = validated.get(raw);
  if (known) return plainTokenSet(known);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new OAuthError('storage_error', 'the stored tokens are not valid JSON', { field: 'storage.tokens', cause: error });
  }
  const parsed = z.safeParse(StoredTokenSetSchema, json);
  if (!parsed.success) {
    const path = parsed.error.issues[0]!.path.map(String).join('.');
    throw new OAuthError('storage_error', `the stored tokens have a bad shape${path ? ` at "${path}"` : ''}`, {
      field: `storage.tokens${path ? `.${path}` : ''}`,
      cause: parsed.error.issues,
    });
  }
  const tokens = parsed.data as TokenSet;
  remember(raw, tokens);
  return plainTokenSet(tokens);
}

/**
 * The last TokenSets validated, by their exact stored text: reading the same text again needs
 * neither JSON.parse nor the schema (getAccessToken on a fresh token is mostly this). Only sets
 * whose `extra` holds no objects are kept, so the copies handed out share nothing mutable.
 */
const validated = new Map<string, TokenSet>();
const VALIDATED_KEPT = 32;

function remember(raw: string, tokens: TokenSet): void {
  if (Object.values(tokens.extra).some((value) => typeof value === 'object' && value !== null)) return;
  if (validated.size >= VALIDATED_KEPT) validated.delete(validated.keys().next().value!);
  validated.set(raw, plainTokenSet(tokens));
}

export async function writeTokens(services: Services, at: TokenLocation, tokens: TokenSet): Promise<void> {
  try {
    await services.storage.set(keyOf(at), JSON.stringify(plainTokenSet(tokens)));
  } catch (error) {
    throw new OAuthError('storage_error', `the tokens were issued but could not be stored: ${reason(error)}`, { cause: error });
  }
}

/**
 * Deletes the stored set only while it is still the one whose refresh token was refused: a newer
 * set that another caller stored meanwhile (with a refresh token of its own) is kept. The delete
 * is a compare-and-delete on the exact stored value where the storage has one.
 */
export async function deleteRefusedTokens(services: Services, at: TokenLocation, refusedRefreshToken: string | undefined): Promise<boolean> {
  const key = keyOf(at);
  const { storage } = services;
  try {
    const raw = await storage.get(key);
    if (raw === undefined) return false;
    let current: unknown;
    try {
      current = JSON.parse(raw);
    } catch {
      current = undefined;
    }
    const currentRefreshToken = (current as { refreshToken?: unknown } | undefined)?.refreshToken;
    if (current !== undefined && currentRefreshToken !== refusedRefreshToken) return false;
    if (storage.deleteIfEquals) return await storage.deleteIfEquals(key, raw);
    await storage.delete(key);
    return true;
  } catch (error) {
    throw new OAuthError('storage_error', `could not delete the refused tokens: ${reason(error)}`, { cause: error });
  }
}
