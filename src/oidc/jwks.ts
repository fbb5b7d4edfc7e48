import type { FlattenedJWSInput, JWSHeaderParameters } from 'jose';
import type { LocalJWKSet } from 'jose/jwks/local';
import { OAuthError } from '../errors.js';
import type { TokenRequest } from '../provider/token-request.js';
import { sendRequest } from '../services/send.js';
import type { Services } from '../services/types.js';

/**
 * A JWKS cache: the issuer's signing keys (OIDC Core §10.1.1), fetched through sendRequest (timeout,
 * size cap, no redirects) and kept per jwks_uri. Rotation: a token whose key is not in the cached
 * set triggers one refetch, at most once per cooldown, so forged `kid`s cannot make us hammer the
 * issuer. Concurrent callers share one fetch. jose is imported only when a set is built.
 */

export interface JwksCacheOptions {
  /** How long a fetched set is used before it is fetched again. Default 10 minutes. */
  maxAgeMs?: number;
  /** The shortest time between two fetches caused by an unknown key. Default 30 s. */
  cooldownMs?: number;
}

/** jose's JWTVerifyGetKey shape: pass it to validateIdToken (or jwtVerify) as `getKey`. */
export type JwksGetKey = (protectedHeader: JWSHeaderParameters, token?: FlattenedJWSInput) => Promise<CryptoKey>;

export interface JwksCache {
  keyFor(jwksUri: string): JwksGetKey;
}

export const DEFAULT_JWKS_MAX_AGE_MS = 600_000;
export const DEFAULT_JWKS_COOLDOWN_MS = 30_000;

interface Entry {
  set?: LocalJWKSet;
  /** When the current set was fetched (services.clock). */
  fetchedAt: number;
  /** When the last fetch started, successful or not: the cooldown counts from it. */
  attemptedAt: number;
  pending?: Promise<LocalJWKSet>;
}

export function createJwksCache(services: Services, options: JwksCacheOptions = {}): JwksCache {
  const maxAgeMs = duration(options.maxAgeMs, DEFAULT_JWKS_MAX_AGE_MS, 'maxAgeMs');
  const cooldownMs = duration(options.cooldownMs, DEFAULT_JWKS_COOLDOWN_MS, 'cooldownMs');
  const entries = new Map<string, Entry>();
  const now = () => services.clock.now();
  // A clock stepped back counts as time passed: otherwise the set could stay cached forever.
  const elapsed = (since: number, limit: number) => {
    const age = now() - since;
    return age < 0 || age >= limit;
  };

  // Single flight: every caller during a fetch awaits the same promise.
  const load = (uri: string, entry: Entry): Promise<LocalJWKSet> => {
    if (entry.pending) return entry.pending;
    entry.attemptedAt = now();
    const pending = fetchJwks(services, uri).then((set) => {
      entry.set = set;
      entry.fetchedAt = now();
      return set;
    });
    entry.pending = pending;
    // Nothing replaces a pending fetch before it settles, so the one to clear is this one.
    const clear = () => {
      delete entry.pending;
    };
    pending.then(clear, clear);
    return pending;
  };

  return {
    keyFor(jwksUri) {
      checkUri(jwksUri);
      let entry = entries.get(jwksUri);
      if (entry === undefined) {
        entry = { fetchedAt: 0, attemptedAt: 0 };
        entries.set(jwksUri, entry);
      }
      const cached = entry;
      return async (protectedHeader, token) => {
        let set = cached.set;
        // A set fetched for this very call is as new as it gets: an unknown key in it is not a rotation.
        let fresh = false;
        if (set === undefined || elapsed(cached.fetchedAt, maxAgeMs)) {
          set = await load(jwksUri, cached);
          fresh = true;
        }
        try {
          return await set(protectedHeader, token);
        } catch (error) {
          if (fresh || !isNoMatchingKey(error)) throw error;
          // Another caller may have refetched (or be refetching) since this one looked: use the newest set.
          // (Once fetched, a set is never unset: without a fetch pending, cached.set is there.)
          const newest = cached.pending ? await cached.pending : cached.set!;
          if (newest !== set) set = newest;
          else if (elapsed(cached.attemptedAt, cooldownMs)) set = await load(jwksUri, cached);
          else throw error;
          return set(protectedHeader, token);
        }
      };
    },
  };
}

/** What jose's key set throws is always an object: a JOSEError, or the TypeError or DOMException of a key import. */
function isNoMatchingKey(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'ERR_JWKS_NO_MATCHING_KEY';
}

function duration(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new OAuthError('invalid_configuration', `${name} must be a non-negative number of milliseconds`, { field: name });
  }
  return value;
}

function checkUri(uri: unknown): void {
  let ok = false;
  try {
    ok = typeof uri === 'string' && ['http:', 'https:'].includes(new URL(uri).protocol);
  } catch {
    // not a URL: ok stays false
  }
  if (!ok) throw new OAuthError('invalid_configuration', 'jwksUri must be an http(s) URL', { field: 'jwksUri' });
}

/** GETs the JWKS document, checks its shape, and builds jose's local key set from it. */
async function fetchJwks(services: Services, uri: string): Promise<LocalJWKSet> {
  const host = new URL(uri).host;
  // sendRequest is typed for token requests but passes method, headers and body to http as they are.
  const request = { url: uri, method: 'GET', headers: { accept: 'application/json' } } as unknown as TokenRequest;
  const response = await sendRequest(services, request);
  const { status } = response;
  const fail = (field: string, problem: string) =>
    new OAuthError('invalid_response', `JWKS from ${host} ${problem}`, {
      status,
      field,
      requestSent: true,
      // A 5xx or 429 may pass; a malformed document will not.
      retryable: status >= 500 || status === 429,
    });
  if (status !== 200) throw fail('jwks', `answered HTTP ${status}, not 200`);
  let json: unknown;
  try {
    json = JSON.parse(response.text);
  } catch {
    throw fail('jwks', 'is not JSON');
  }
  if (!isObject(json)) throw fail('jwks', 'is not a JSON object');
  if (!Array.isArray(json.keys)) throw fail('jwks.keys', json.keys === undefined ? 'has no "keys" array' : '"keys" is not an array');
  if (!json.keys.every(isObject)) throw fail('jwks.keys', '"keys" has a member that is not a JSON object');
  // jose refuses only what is refused above (a set or a member that is not a plain object), and
  // parsed JSON holds nothing structuredClone cannot copy: it does not throw here.
  const { createLocalJWKSet } = await import('jose/jwks/local');
  return createLocalJWKSet(json as { keys: [] });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
