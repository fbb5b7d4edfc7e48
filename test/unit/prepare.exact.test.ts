import { describe, expect, it } from 'vitest';
import { generateKeyPair } from 'jose';
import { prepareGrant, secretsFor } from '../../src/grants/prepare.js';
import { parseProvider } from '../../src/provider/parse.js';
import { genericOAuth2, pathOfExile, poems } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

const tokenEndpoint = 'https://as.example/token';
const provider = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint });
const client = { clientId: 'app', redirectUri: 'https://app.example/cb' };
const keyed = (apiKey: Record<string, unknown>) => parseProvider({ id: 'k', name: 'K', token: { url: tokenEndpoint }, apiKey, grants: { client_credentials: {} } });


describe('prepareGrant', () => {
  it('returns the parsed provider and the auth method', () => {
    const raw = { id: 'raw', name: 'Raw', token: { url: tokenEndpoint }, grants: { refresh_token: {} } };
    const prepared = prepareGrant(raw, { clientId: 'app' }, {}, 'refresh_token');
    expect(prepared.provider).toEqual(parseProvider(raw));
    expect(prepared.auth).toBe('none');
    expect(prepareGrant(provider, client, { clientSecret: 's' }, 'authorization_code').auth).toBe('client_secret_basic');
  });

  it('a provider that does not parse is invalid_provider, before the client is looked at', () => {
    expect(thrown(() => prepareGrant({ id: 'BAD' }, undefined, {}, 'refresh_token')).code).toBe('invalid_provider');
  });

  it.each([
    ['no client', undefined],
    ['a client id that is not a string', { clientId: 7 }],
    ['an empty client id', { clientId: '' }],
  ])('%s: invalid_configuration at client.clientId', (_name, bad) => {
    const error = thrown(() => prepareGrant(provider, bad as never, {}, 'authorization_code'));
    expect(error).toMatchObject({ code: 'invalid_configuration', field: 'client.clientId', message: 'client.clientId must be a non-empty string' });
  });

  it('the client id is checked before the grant', () => {
    expect(thrown(() => prepareGrant(provider, { clientId: '' }, {}, 'device_code')).field).toBe('client.clientId');
  });

  it('a grant the provider does not support: invalid_configuration naming it', () => {
    const error = thrown(() => prepareGrant(provider, client, { clientSecret: 's' }, 'device_code'));
    expect(error).toMatchObject({
      code: 'invalid_configuration',
      field: 'provider.grants.device_code',
      message: 'provider "as" does not support the device_code grant',
    });
  });

  it('the User-Agent is checked with the services’ flag', () => {
    expect(thrown(() => prepareGrant(pathOfExile, { clientId: 'app' }, {}, 'authorization_code', { userAgentHeader: true })).field).toBe('client.userAgent');
    expect(prepareGrant(pathOfExile, { clientId: 'app' }, {}, 'authorization_code', { userAgentHeader: false }).provider.id).toBe('path-of-exile');
  });

  it('a required API key: refused without secrets.apiKey, with how it is sent', () => {
    const header = keyed({ in: 'header', name: 'X-Api-Key' });
    const error = thrown(() => prepareGrant(header, { clientId: 'app' }, {}, 'client_credentials'));
    expect(error).toMatchObject({
      code: 'invalid_configuration',
      field: 'secrets.apiKey',
      message: 'provider "k" needs an API key (sent as header "X-Api-Key"); pass secrets.apiKey',
    });
    expect(thrown(() => prepareGrant(header, { clientId: 'app' }, { apiKey: '' }, 'client_credentials')).field).toBe('secrets.apiKey');
    expect(prepareGrant(header, { clientId: 'app' }, { apiKey: 'key' }, 'client_credentials').auth).toBe('none');
    expect(prepareGrant(keyed({ in: 'body', name: 'key', required: false }), { clientId: 'app' }, {}, 'client_credentials').auth).toBe('none');
  });

  it('the API key is checked after the User-Agent and the grant', () => {
    const both = parseProvider({ ...keyed({ in: 'header', name: 'X' }), userAgent: { template: 'OAuth {clientId}/{version}', required: true } });
    expect(thrown(() => prepareGrant(both, { clientId: 'app' }, {}, 'client_credentials', { userAgentHeader: true })).field).toBe('client.userAgent');
    expect(thrown(() => prepareGrant(both, { clientId: 'app' }, {}, 'authorization_code')).field).toBe('provider.grants.authorization_code');
  });

  it('the code and refresh grants authenticate with the secret, not the private key; the assertion grant with the key', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const secrets = { clientSecret: 's', privateKey };
    expect(prepareGrant(poems, client, secrets, 'authorization_code').auth).toBe('client_secret_basic');
    expect(prepareGrant(poems, client, secrets, 'refresh_token').auth).toBe('client_secret_basic');
    expect(prepareGrant(poems, client, secrets, 'client_credentials').auth).toBe('private_key_jwt');
    // Only a key, for a code grant at a provider that needs a client secret: refused before the user is sent away.
    expect(thrown(() => prepareGrant(poems, client, { privateKey }, 'authorization_code'))).toMatchObject({ code: 'invalid_configuration', field: 'secrets.clientSecret' });
  });
});

describe('secretsFor', () => {
  it('client credentials keeps every secret; the other grants drop only the private key', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const all = { clientSecret: 's', privateKey, apiKey: 'k' };
    expect(secretsFor('client_credentials', all)).toBe(all);
    expect(secretsFor('authorization_code', all)).toEqual({ clientSecret: 's', apiKey: 'k' });
    expect(secretsFor('refresh_token', all)).toEqual({ clientSecret: 's', apiKey: 'k' });
    expect(secretsFor('refresh_token', all)).not.toHaveProperty('privateKey');
    expect(all.privateKey).toBe(privateKey);
    const noKey = { clientSecret: 's' };
    expect(secretsFor('authorization_code', noKey)).toBe(noKey);
  });
});
