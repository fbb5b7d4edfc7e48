import { describe, expect, it } from 'vitest';
import { poems } from '../../src/providers/index.js';
import { fakePoems } from '../../src/testing/index.js';
import { outcome, runCodeFlow } from '../support/flow.js';

const redirectUri = 'https://app.example.com/callback';
const client = { clientId: 'poems-app', redirectUri };
const fake = () => fakePoems({ clients: [{ clientId: 'poems-app', clientSecret: 'p@ss word:1', redirectUris: [redirectUri] }] });

describe('POEMS: authorization code with HTTP Basic client authentication against its fake', () => {
  it('authenticates with HTTP Basic (RFC 6749 §2.3.1 encoding, a secret with special characters)', async () => {
    const f = fake();
    const { output } = await runCodeFlow({ provider: poems, fake: f, client, secrets: { clientSecret: 'p@ss word:1' } });
    expect(output.status).toBe('succeeded');
    const request = f.requests[0]!;
    expect(request.headers.authorization).toMatch(/^Basic /);
    expect(request.body.client_secret).toBeUndefined();
    expect(output.status === 'succeeded' && output.tokens.refreshToken).toMatch(/^poems-rt-/);
  });

  it('needs a client secret: refused before any request without one', async () => {
    const f = fake();
    const { output } = await runCodeFlow({ provider: poems, fake: f, client });
    expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_configuration', field: 'secrets.clientSecret' });
    expect(f.requests).toHaveLength(0);
  });

  it('a wrong secret is invalid_client (401)', async () => {
    const { output } = await runCodeFlow({ provider: poems, fake: fake(), client, secrets: { clientSecret: 'nope' } });
    expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_client', status: 401 });
  });

  it('the secret in the body instead of Basic is invalid_client (provider data claiming client_secret_post)', async () => {
    const post = { ...poems, token: { ...poems.token, authMethods: ['client_secret_post' as const] } };
    const { output } = await runCodeFlow({ provider: post, fake: fake(), client, secrets: { clientSecret: 'p@ss word:1' } });
    expect(outcome(output)).toBe('invalid_client');
  });

  it('access_denied when the user cancels the POEMS login', async () => {
    const { output } = await runCodeFlow({ provider: poems, fake: fake(), client, secrets: { clientSecret: 'p@ss word:1' }, user: (f, url) => f.deny(url) });
    expect(outcome(output)).toBe('access_denied');
  });
});

describe('POEMS: a client given both a secret and a private key', () => {
  it('exchanges its codes with the secret (HTTP Basic): the key is for client credentials only', async () => {
    const { generateKeyPair, exportPKCS8 } = await import('jose');
    const pair = await generateKeyPair('RS256', { extractable: true });
    const f = fake();
    const { output } = await runCodeFlow({ provider: poems, fake: f, client, secrets: { clientSecret: 'p@ss word:1', privateKey: await exportPKCS8(pair.privateKey) } });
    expect(output.status).toBe('succeeded');
    expect(f.requests[0]!.headers.authorization).toMatch(/^Basic /);
    expect(f.requests[0]!.body.client_assertion).toBeUndefined();
  });

  it('a code grant the client cannot authenticate (only private_key_jwt accepted, no secret) is refused before the user is sent away', async () => {
    const keyOnly = { ...poems, token: { ...poems.token, authMethods: ['private_key_jwt' as const] } };
    const f = fake();
    const { output, authorizationUrl } = await runCodeFlow({ provider: keyOnly, fake: f, client, secrets: { privateKey: 'unused' } });
    expect(output.status === 'failed' && output.error).toMatchObject({ code: 'invalid_configuration' });
    expect(authorizationUrl).toBe('');
    expect(f.requests).toHaveLength(0);
  });
});
