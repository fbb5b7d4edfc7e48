import { describe, expect, it } from 'vitest';
import { readTokens, writeTokens } from '../../src/grants/token-store.js';
import { tokensKey } from '../../src/grants/storage-keys.js';
import { memoryStorage } from '../../src/index.js';
import { resolveServices } from '../../src/services/defaults.js';

const at = { providerId: 'p', clientId: 'c' };

describe('stored TokenSets are validated when read, and the validation of the same text is reused', () => {
  it('a copy each time: changing what one read returned changes nothing for the next', async () => {
    const services = resolveServices({ storage: memoryStorage() });
    await writeTokens(services, at, { accessToken: 'at', tokenType: 'bearer', scopes: ['a'], extra: { user: 'u' } });
    const first = (await readTokens(services, at))!;
    first.accessToken = 'changed';
    first.scopes!.push('b');
    first.extra.user = 'other';
    expect(await readTokens(services, at)).toEqual({ accessToken: 'at', tokenType: 'bearer', scopes: ['a'], extra: { user: 'u' } });
    expect(await readTokens(services, at)).not.toBe(await readTokens(services, at));
  });

  it('other text is validated anew: a corrupted set after a good one is a storage_error', async () => {
    const storage = memoryStorage();
    const services = resolveServices({ storage });
    await writeTokens(services, at, { accessToken: 'at', tokenType: 'bearer', extra: {} });
    await readTokens(services, at);
    await storage.set(tokensKey('p', 'c'), JSON.stringify({ accessToken: '', tokenType: 'bearer', extra: {} }));
    await expect(readTokens(services, at)).rejects.toMatchObject({ code: 'storage_error', field: 'storage.tokens.accessToken' });
  });

  it('a set whose extra holds objects is read whole each time (nothing mutable is shared)', async () => {
    const services = resolveServices({ storage: memoryStorage() });
    await writeTokens(services, at, { accessToken: 'at', tokenType: 'bearer', extra: { claims: { sub: 'u' } } });
    const first = (await readTokens(services, at))!;
    (first.extra.claims as { sub: string }).sub = 'changed';
    expect((await readTokens(services, at))!.extra).toEqual({ claims: { sub: 'u' } });
  });
});
