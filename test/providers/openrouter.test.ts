import { describe, expect, it } from 'vitest';
import { openRouter } from '../../src/providers/index.js';
import { fakeOpenRouter } from '../../src/testing/index.js';
import { runCodeFlow } from '../support/flow.js';
import { keyExchangeSuite } from './key-exchange.js';

keyExchangeSuite('OpenRouter', openRouter, (options) => fakeOpenRouter(options), /^sk-or-v1-/);

describe('OpenRouter specifics', () => {
  it('plain PKCE is refused by grantflow while the provider offers S256, before any request', async () => {
    const fake = fakeOpenRouter();
    const { output } = await runCodeFlow({ provider: openRouter, fake, pkceMethod: 'plain', client: { clientId: 'x', redirectUri: 'http://localhost:3000/cb' } });
    expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_configuration', field: 'pkceMethod' });
    expect(fake.requests).toHaveLength(0);
  });

  it('the fake accepts plain where the document allows it (a provider data variant offering only plain)', async () => {
    const plainOnly = { ...openRouter, authorization: { ...openRouter.authorization!, pkce: { support: 'optional' as const, methods: ['plain' as const] } } };
    const { output } = await runCodeFlow({ provider: plainOnly, fake: fakeOpenRouter(), pkceMethod: 'plain', client: { clientId: 'x', redirectUri: 'http://localhost:3000/cb' } });
    expect(output.status).toBe('succeeded');
  });

  it('reads OpenRouter’s error shape { error: { code, message } } into the description', async () => {
    const f = fakeOpenRouter();
    const response = await f.fetch('https://openrouter.ai/api/v1/auth/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"code":"nope"}' });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: { code: 403, message: 'Invalid code or code_verifier' } });
  });
});
