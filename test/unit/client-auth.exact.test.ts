import { describe, expect, it } from 'vitest';
import { chooseClientAuth, clientAuthStrategies } from '../../src/provider/client-auth.js';
import type { ClientAuthMethod } from '../../src/provider/schema.js';
import { genericOAuth2, openRouter, pathOfExile, poe, poems } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

/**
 * Written against the survivors of a mutation run over src/provider/client-auth.ts: every branch
 * of chooseClientAuth with its exact message and field, and the exact parts each strategy adds.
 */

const provider = (authMethods: ClientAuthMethod[], id = 'as') => genericOAuth2({ id, tokenEndpoint: 'https://as.example/token', authMethods });
const decodeBasic = (header: string) => {
  expect(header.startsWith('Basic ')).toBe(true);
  return new TextDecoder().decode(Uint8Array.from(atob(header.slice(6)), (c) => c.charCodeAt(0)));
};

describe('chooseClientAuth: the client names a method', () => {
  it('a method the provider accepts and the secrets fit is used, whatever the provider prefers', () => {
    const all = provider(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']);
    expect(chooseClientAuth(all, { clientSecret: 's' }, { clientId: 'c', authMethod: 'client_secret_post' })).toBe('client_secret_post');
    expect(chooseClientAuth(all, { clientSecret: 's' }, { clientId: 'c', authMethod: 'client_secret_basic' })).toBe('client_secret_basic');
    expect(chooseClientAuth(all, { privateKey: 'pem' }, { clientId: 'c', authMethod: 'private_key_jwt' })).toBe('private_key_jwt');
    expect(chooseClientAuth(all, { clientSecret: 's', privateKey: 'pem' }, { clientId: 'c', authMethod: 'none' })).toBe('none');
    expect(chooseClientAuth(all, {}, { clientId: 'c', authMethod: 'none' })).toBe('none');
  });
  it('a client without authMethod gets the automatic choice', () => {
    expect(chooseClientAuth(provider(['client_secret_post', 'client_secret_basic']), { clientSecret: 's' }, { clientId: 'c' })).toBe('client_secret_post');
  });
  it('a secret method without the secret names what is missing', () => {
    const all = provider(['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
    expect(thrown(() => chooseClientAuth(all, { privateKey: 'pem' }, { clientId: 'c', authMethod: 'client_secret_basic' }))).toMatchObject({
      code: 'invalid_configuration',
      field: 'client.authMethod',
      message: 'client.authMethod "client_secret_basic" needs secrets.clientSecret',
    });
    expect(thrown(() => chooseClientAuth(all, {}, { clientId: 'c', authMethod: 'client_secret_post' })).message).toBe('client.authMethod "client_secret_post" needs secrets.clientSecret');
  });
  it('private_key_jwt without a private key names secrets.privateKey (a secret does not do)', () => {
    expect(thrown(() => chooseClientAuth(poems, { clientSecret: 's' }, { clientId: 'c', authMethod: 'private_key_jwt' }))).toMatchObject({
      code: 'invalid_configuration',
      field: 'client.authMethod',
      message: 'client.authMethod "private_key_jwt" needs secrets.privateKey',
    });
  });
  it('a method the provider does not accept is refused even when the secrets fit, listing what it accepts', () => {
    expect(thrown(() => chooseClientAuth(poems, { clientSecret: 's' }, { clientId: 'c', authMethod: 'client_secret_post' }))).toMatchObject({
      code: 'invalid_configuration',
      field: 'client.authMethod',
      message: 'provider "poems" does not accept client.authMethod "client_secret_post" (token.authMethods: client_secret_basic, private_key_jwt)',
    });
    expect(thrown(() => chooseClientAuth(poems, {}, { clientId: 'c', authMethod: 'none' })).message).toBe(
      'provider "poems" does not accept client.authMethod "none" (token.authMethods: client_secret_basic, private_key_jwt)',
    );
  });
});

describe('chooseClientAuth: the automatic choice', () => {
  it('a private key goes to private_key_jwt only where the provider accepts it', () => {
    expect(chooseClientAuth(provider(['client_secret_basic', 'private_key_jwt']), { privateKey: 'pem', clientSecret: 's' })).toBe('private_key_jwt');
    expect(chooseClientAuth(provider(['client_secret_basic', 'none']), { privateKey: 'pem', clientSecret: 's' })).toBe('client_secret_basic');
    expect(chooseClientAuth(provider(['none']), { privateKey: 'pem' })).toBe('none');
  });
  it('a secret goes to the provider\'s first secret method, in its order', () => {
    expect(chooseClientAuth(provider(['none', 'client_secret_post', 'client_secret_basic']), { clientSecret: 's' })).toBe('client_secret_post');
    expect(chooseClientAuth(provider(['private_key_jwt', 'client_secret_basic', 'client_secret_post']), { clientSecret: 's' })).toBe('client_secret_basic');
  });
  it('a secret where the provider takes none is refused naming secrets.clientSecret', () => {
    expect(thrown(() => chooseClientAuth(poe, { clientSecret: 's' }))).toMatchObject({
      code: 'invalid_configuration',
      field: 'secrets.clientSecret',
      message: 'provider "poe" accepts no client secret (token.authMethods: none); do not pass secrets.clientSecret',
    });
    expect(thrown(() => chooseClientAuth(provider(['none', 'private_key_jwt']), { clientSecret: 's' })).message).toBe(
      'provider "as" accepts no client secret (token.authMethods: none, private_key_jwt); do not pass secrets.clientSecret',
    );
  });
  it('no secrets: none where accepted', () => {
    expect(chooseClientAuth(openRouter, {})).toBe('none');
    expect(chooseClientAuth(pathOfExile, {})).toBe('none');
  });
  it('no secrets where authentication is required names the secret to pass', () => {
    expect(thrown(() => chooseClientAuth(provider(['private_key_jwt']), {}))).toMatchObject({
      code: 'invalid_configuration',
      field: 'secrets.privateKey',
      message: 'provider "as" requires client authentication (private_key_jwt); pass secrets.privateKey',
    });
    expect(thrown(() => chooseClientAuth(poems, {}))).toMatchObject({
      field: 'secrets.clientSecret',
      message: 'provider "poems" requires client authentication (client_secret_basic or private_key_jwt); pass secrets.clientSecret',
    });
    expect(thrown(() => chooseClientAuth(provider(['private_key_jwt', 'client_secret_post']), {}))).toMatchObject({
      field: 'secrets.clientSecret',
      message: 'provider "as" requires client authentication (private_key_jwt or client_secret_post); pass secrets.clientSecret',
    });
    expect(thrown(() => chooseClientAuth(provider(['client_secret_basic']), {})).field).toBe('secrets.clientSecret');
  });
});

describe('clientAuthStrategies: exactly what each method adds', () => {
  const client = { clientId: 'my app' };
  it('none: client_id in the body where the provider sends it, nothing else', () => {
    expect(clientAuthStrategies.none(poe, client, {})).toEqual({ body: { client_id: 'my app' }, headers: {} });
    expect(clientAuthStrategies.none(openRouter, client, {})).toEqual({ body: {}, headers: {} });
  });
  it('client_secret_post: id and secret in the body', () => {
    expect(clientAuthStrategies.client_secret_post(pathOfExile, client, { clientSecret: 's3' })).toEqual({ body: { client_id: 'my app', client_secret: 's3' }, headers: {} });
  });
  it('client_secret_basic: only the Authorization header, id and secret form-encoded (RFC 6749 §2.3.1)', () => {
    const parts = clientAuthStrategies.client_secret_basic(poems, { clientId: 'id é+/' }, { clientSecret: 'a b:c' });
    expect(parts.body).toEqual({});
    expect(Object.keys(parts.headers)).toEqual(['authorization']);
    expect(decodeBasic(parts.headers.authorization!)).toBe('id+%C3%A9%2B%2F:a+b%3Ac');
    expect(parts.headers.authorization).toBe(`Basic ${btoa('id+%C3%A9%2B%2F:a+b%3Ac')}`);
  });
  it('client_secret_basic keeps every space as + (not only the first)', () => {
    expect(decodeBasic(clientAuthStrategies.client_secret_basic(poems, { clientId: 'a b c' }, { clientSecret: 'x y z' }).headers.authorization!)).toBe('a+b+c:x+y+z');
  });
  it('private_key_jwt: client_id, the assertion and its type in the body (RFC 7523 §2.2)', () => {
    expect(clientAuthStrategies.private_key_jwt(poems, client, {}, 'eyJ.x.y')).toEqual({
      body: { client_id: 'my app', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'eyJ.x.y' },
      headers: {},
    });
  });
  it('private_key_jwt without a signed assertion is invalid_configuration on secrets.privateKey', () => {
    expect(thrown(() => clientAuthStrategies.private_key_jwt(poems, client, { privateKey: 'pem' }))).toMatchObject({
      code: 'invalid_configuration',
      field: 'secrets.privateKey',
      message: 'private_key_jwt needs a signed client assertion',
    });
  });
});
