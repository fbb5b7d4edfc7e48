import { afterEach, describe, expect, it, vi } from 'vitest';
import { deleteRefusedTokens, readTokens, writeTokens } from '../../src/grants/token-store.js';
import { tokensKey } from '../../src/grants/storage-keys.js';
import { memoryStorage, type Storage } from '../../src/index.js';
import { resolveServices } from '../../src/services/defaults.js';
import { rejected } from '../support/oauth-error.js';

const at = { providerId: 'p', clientId: 'c', key: 'user-1' };
const key = tokensKey('p', 'c', 'user-1');

/** A unique stored text per call, so the module's cache of validated texts never answers for another test. */
let serial = 0;
const unique = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ accessToken: `at-${++serial}-${Math.random()}`, tokenType: 'bearer', extra });

function withStorage(storage: Storage) {
  return resolveServices({ storage });
}

const rejection = rejected;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('readTokens', () => {
  it('reads the set stored under the location’s key (provider, client and key)', async () => {
    const storage = memoryStorage();
    await storage.set(key, JSON.stringify({ accessToken: 'at', tokenType: 'bearer', extra: {}, refreshToken: 'rt', expiresAt: 5, issuedAt: 1, scopes: ['s'] }));
    const services = withStorage(storage);
    expect(await readTokens(services, at)).toEqual({ accessToken: 'at', tokenType: 'bearer', extra: {}, refreshToken: 'rt', expiresAt: 5, issuedAt: 1, scopes: ['s'] });
    expect(await readTokens(services, { providerId: 'p', clientId: 'c' })).toBeUndefined();
    expect(await readTokens(services, { providerId: 'p', clientId: 'c', key: 'user-2' })).toBeUndefined();
  });

  it('a storage that cannot read: storage_error with the reason, the cause kept', async () => {
    const cause = new Error('disk gone');
    const storage: Storage = { ...memoryStorage(), get: async () => Promise.reject(cause) };
    const error = await rejection(readTokens(withStorage(storage), at));
    expect(error.code).toBe('storage_error');
    expect(error.message).toBe('could not read the stored tokens: disk gone');
    expect(error.cause).toBe(cause);
    expect(error.field).toBeUndefined();
  });

  it('a non-Error rejection is named as it is', async () => {
    const storage: Storage = { ...memoryStorage(), get: async () => Promise.reject('plain text') };
    const error = await rejection(readTokens(withStorage(storage), at));
    expect(error).toMatchObject({ code: 'storage_error', message: 'could not read the stored tokens: plain text' });
  });

  it('text that is not JSON: storage_error at storage.tokens, the SyntaxError as cause', async () => {
    const storage = memoryStorage();
    await storage.set(key, '{not json');
    const error = await rejection(readTokens(withStorage(storage), at));
    expect(error).toMatchObject({ code: 'storage_error', field: 'storage.tokens', message: 'the stored tokens are not valid JSON' });
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('JSON of the wrong kind at the top: storage_error at storage.tokens, no path in the message', async () => {
    const storage = memoryStorage();
    for (const raw of ['null', '"str"', '[]', '7']) {
      await storage.set(key, raw);
      const error = await rejection(readTokens(withStorage(storage), at));
      expect(error.code, raw).toBe('storage_error');
      expect(error.field, raw).toBe('storage.tokens');
      expect(error.message, raw).toBe('the stored tokens have a bad shape');
      expect(Array.isArray(error.cause), raw).toBe(true);
    }
  });

  it('a bad field: storage_error naming it, in the field and the message', async () => {
    const storage = memoryStorage();
    const base = { accessToken: 'at', tokenType: 'bearer', extra: {} };
    const cases: Array<[unknown, string]> = [
      [{ ...base, accessToken: '' }, 'accessToken'],
      [{ ...base, accessToken: 5 }, 'accessToken'],
      [{ ...base, tokenType: 1 }, 'tokenType'],
      [{ ...base, refreshToken: '' }, 'refreshToken'],
      [{ ...base, scopes: [1] }, 'scopes.0'],
      [{ ...base, scopes: 's' }, 'scopes'],
      [{ ...base, extra: null }, 'extra'],
      [{ ...base, expiresAt: 'soon' }, 'expiresAt'],
      [{ ...base, issuedAt: 'then' }, 'issuedAt'],
      [{ ...base, idTokenClaims: { iss: 'i', sub: '', aud: 'a', exp: 1, iat: 1 } }, 'idTokenClaims.sub'],
      [{ ...base, idTokenClaims: { iss: 'i', sub: 's', aud: 1, exp: 1, iat: 1 } }, 'idTokenClaims.aud'],
      [{ ...base, idTokenClaims: { sub: 's', aud: 'a', exp: 1, iat: 1 } }, 'idTokenClaims.iss'],
      [{ ...base, idTokenClaims: { iss: 'i', sub: 's', aud: 'a', iat: 1 } }, 'idTokenClaims.exp'],
      [{ ...base, idTokenClaims: { iss: 'i', sub: 's', aud: 'a', exp: 1 } }, 'idTokenClaims.iat'],
    ];
    for (const [value, path] of cases) {
      await storage.set(key, JSON.stringify(value));
      const error = await rejection(readTokens(withStorage(storage), at));
      expect(error.code, path).toBe('storage_error');
      expect(error.field, path).toBe(`storage.tokens.${path}`);
      expect(error.message, path).toBe(`the stored tokens have a bad shape at "${path}"`);
    }
  });

  it('an expiry that is not finite (1e999 parses to Infinity) is refused', async () => {
    const storage = memoryStorage();
    await storage.set(key, '{"accessToken":"at","tokenType":"bearer","extra":{},"expiresAt":1e999}');
    expect(await rejection(readTokens(withStorage(storage), at))).toMatchObject({ code: 'storage_error', field: 'storage.tokens.expiresAt' });
    await storage.set(key, '{"accessToken":"at","tokenType":"bearer","extra":{},"issuedAt":-1e999}');
    expect(await rejection(readTokens(withStorage(storage), at))).toMatchObject({ code: 'storage_error', field: 'storage.tokens.issuedAt' });
  });

  it('valid id token claims with an array audience and more claims are read back whole', async () => {
    const storage = memoryStorage();
    const claims = { iss: 'https://as.example', sub: 'u', aud: ['app', 'other'], exp: 2, iat: 1, email: 'u@example.com' };
    await storage.set(key, JSON.stringify({ accessToken: 'at', tokenType: 'bearer', extra: {}, idTokenClaims: claims }));
    expect((await readTokens(withStorage(storage), at))!.idTokenClaims).toEqual(claims);
  });
});

describe('readTokens reuses the validation of the same text', () => {
  const parses = () => vi.spyOn(JSON, 'parse');

  it('the same text is parsed once; an extra of strings, numbers and null is kept', async () => {
    const storage = memoryStorage();
    const services = withStorage(storage);
    const raw = unique({ user: 'u', n: 1, none: null });
    await storage.set(key, raw);
    const spy = parses();
    const first = await readTokens(services, at);
    expect(spy).toHaveBeenCalledTimes(1);
    const second = await readTokens(services, at);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(second).toEqual(first);
    expect(second).toEqual(JSON.parse(raw));
  });

  it('an empty extra is kept too', async () => {
    const storage = memoryStorage();
    const services = withStorage(storage);
    await storage.set(key, unique({}));
    const spy = parses();
    await readTokens(services, at);
    await readTokens(services, at);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('a set whose extra holds an object among other values is parsed on every read', async () => {
    const storage = memoryStorage();
    const services = withStorage(storage);
    await storage.set(key, unique({ user: 'u', claims: { sub: 's' } }));
    const spy = parses();
    const first = (await readTokens(services, at))!;
    (first.extra.claims as { sub: string }).sub = 'changed';
    const second = (await readTokens(services, at))!;
    expect(spy).toHaveBeenCalledTimes(2);
    expect(second.extra).toEqual({ user: 'u', claims: { sub: 's' } });
  });

  it('the last 32 texts are kept: a 33rd pushes the oldest out', async () => {
    const storage = memoryStorage();
    const services = withStorage(storage);
    const texts = Array.from({ length: 33 }, () => unique());
    const oldest = JSON.parse(texts[0]!).accessToken as string;
    for (const raw of texts.slice(0, 32)) {
      await storage.set(key, raw);
      await readTokens(services, at);
    }
    const spy = parses();
    await storage.set(key, texts[0]!);
    await readTokens(services, at);
    expect(spy).toHaveBeenCalledTimes(0); // the oldest of 32 is still known
    await storage.set(key, texts[32]!);
    await readTokens(services, at);
    expect(spy).toHaveBeenCalledTimes(1);
    await storage.set(key, texts[1]!);
    await readTokens(services, at);
    expect(spy).toHaveBeenCalledTimes(1); // the second is still known
    await storage.set(key, texts[0]!);
    expect((await readTokens(services, at))!.accessToken).toBe(oldest);
    expect(spy).toHaveBeenCalledTimes(2); // the oldest was pushed out
  });
});

describe('writeTokens', () => {
  it('stores the plain set as JSON under the location’s key', async () => {
    const storage = memoryStorage();
    const tokens = { accessToken: 'at', tokenType: 'bearer', refreshToken: 'rt', expiresAt: 10, extra: { user: 'u' }, junk: 'x' } as never;
    await writeTokens(withStorage(storage), at, tokens);
    expect(JSON.parse((await storage.get(key))!)).toEqual({ accessToken: 'at', tokenType: 'bearer', refreshToken: 'rt', expiresAt: 10, extra: { user: 'u' } });
  });

  it('a storage that cannot write: storage_error saying the tokens were issued, the cause kept', async () => {
    const cause = new Error('read-only');
    const storage: Storage = { ...memoryStorage(), set: async () => Promise.reject(cause) };
    const error = await rejection(writeTokens(withStorage(storage), at, { accessToken: 'at', tokenType: 'bearer', extra: {} }));
    expect(error).toMatchObject({ code: 'storage_error', message: 'the tokens were issued but could not be stored: read-only' });
    expect(error.cause).toBe(cause);
  });
});

describe('deleteRefusedTokens', () => {
  const setWith = (refreshToken?: string) => JSON.stringify({ accessToken: 'at', tokenType: 'bearer', extra: {}, ...(refreshToken ? { refreshToken } : {}) });

  /** A storage without deleteIfEquals, recording its deletes. */
  function plainStorage() {
    const inner = memoryStorage();
    const deleted: string[] = [];
    const storage: Storage = { get: (k) => inner.get(k), set: (k, v, o) => inner.set(k, v, o), delete: async (k) => (deleted.push(k), inner.delete(k)) };
    return { storage, inner, deleted };
  }

  it('nothing stored: false, nothing deleted', async () => {
    const { storage, deleted } = plainStorage();
    expect(await deleteRefusedTokens(withStorage(storage), at, 'rt')).toBe(false);
    expect(deleted).toEqual([]);
  });

  it('the refused set still stored: deleted (plain delete), true', async () => {
    const { storage, inner, deleted } = plainStorage();
    await inner.set(key, setWith('rt'));
    expect(await deleteRefusedTokens(withStorage(storage), at, 'rt')).toBe(true);
    expect(deleted).toEqual([key]);
    expect(await inner.get(key)).toBeUndefined();
  });

  it('a newer set with another refresh token: kept, false', async () => {
    const { storage, inner, deleted } = plainStorage();
    await inner.set(key, setWith('rt-new'));
    expect(await deleteRefusedTokens(withStorage(storage), at, 'rt')).toBe(false);
    expect(deleted).toEqual([]);
    expect(await inner.get(key)).toBe(setWith('rt-new'));
  });

  it('a newer set without a refresh token, after a refused one: kept', async () => {
    const { storage, inner } = plainStorage();
    await inner.set(key, setWith());
    expect(await deleteRefusedTokens(withStorage(storage), at, 'rt')).toBe(false);
    expect(await inner.get(key)).toBe(setWith());
  });

  it('no refresh token refused and none stored: deleted', async () => {
    const { storage, inner } = plainStorage();
    await inner.set(key, setWith());
    expect(await deleteRefusedTokens(withStorage(storage), at, undefined)).toBe(true);
    expect(await inner.get(key)).toBeUndefined();
  });

  it('unreadable stored text is deleted', async () => {
    const { storage, inner } = plainStorage();
    await inner.set(key, '{corrupt');
    expect(await deleteRefusedTokens(withStorage(storage), at, 'rt')).toBe(true);
    expect(await inner.get(key)).toBeUndefined();
  });

  it('with deleteIfEquals: a compare-and-delete on the exact stored text, its answer returned', async () => {
    const inner = memoryStorage();
    const calls: Array<[string, string]> = [];
    let answer = true;
    const storage: Storage = {
      ...inner,
      delete: async () => Promise.reject(new Error('must not be called')),
      deleteIfEquals: async (k, v) => (calls.push([k, v]), answer),
    };
    await inner.set(key, setWith('rt'));
    expect(await deleteRefusedTokens(withStorage(storage), at, 'rt')).toBe(true);
    answer = false;
    expect(await deleteRefusedTokens(withStorage(storage), at, 'rt')).toBe(false);
    expect(calls).toEqual([
      [key, setWith('rt')],
      [key, setWith('rt')],
    ]);
  });

  it('a storage that fails: storage_error with the reason, the cause kept', async () => {
    const cause = new Error('offline');
    const failing: Storage = { ...memoryStorage(), get: async () => Promise.reject(cause) };
    const error = await rejection(deleteRefusedTokens(withStorage(failing), at, 'rt'));
    expect(error).toMatchObject({ code: 'storage_error', message: 'could not delete the refused tokens: offline' });
    expect(error.cause).toBe(cause);
    const { storage, inner } = plainStorage();
    await inner.set(key, setWith('rt'));
    const deleteFails: Storage = { ...storage, delete: async () => Promise.reject('no') };
    expect(await rejection(deleteRefusedTokens(withStorage(deleteFails), at, 'rt'))).toMatchObject({ code: 'storage_error', message: 'could not delete the refused tokens: no' });
  });
});
