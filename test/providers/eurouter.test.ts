import { describe, expect, it } from 'vitest';
import { euRouter } from '../../src/providers/index.js';
import { fakeEuRouter } from '../../src/testing/index.js';
import { runCodeFlow } from '../support/flow.js';
import { keyExchangeSuite } from './key-exchange.js';

keyExchangeSuite('EUrouter', euRouter, (options) => fakeEuRouter(options), /^eur_[\w-]+\.[\w-]+$/);

describe('EUrouter specifics', () => {
  it('keeps user_id beside the key (the key is shown only once)', async () => {
    const { output } = await runCodeFlow({ provider: euRouter, fake: fakeEuRouter(), client: { clientId: 'x', redirectUri: 'https://app.example.com/cb' } });
    expect(output.status === 'succeeded' && output.tokens.extra.user_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
