import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/errors.js';
import { defineProvider, parseProvider } from '../../src/provider/parse.js';
import { thrown } from '../support/oauth-error.js';

/**
 * Written against the survivors of a mutation run over src/provider/parse.ts: the message for each
 * kind of zod issue, the path of the bad field, every consistency rule, and parsing once.
 * The built-in providers are imported inside a test, not at the top: they are parsed when their
 * module loads, so a broken consistency rule must fail a test here rather than this file's import
 * (which Stryker's vitest runner does not count as a failed test).
 */

const base = { id: 'x', name: 'X', token: { url: 'https://as.example/token' }, grants: { client_credentials: {} } };
const withCode = { ...base, authorization: { url: 'https://as.example/a' }, grants: { authorization_code: {} } };
function invalid(data: unknown): OAuthError {
  const error = thrown(() => parseProvider(data));
  expect(error.code).toBe('invalid_provider');
  return error;
}

describe('parseProvider: what is wrong, and where', () => {
  it.each([
    ['nothing', undefined, 'provider', 'provider is required'],
    ['null', null, 'provider', 'provider must be an object'],
    ['a string', 'poe', 'provider', 'provider must be an object'],
    ['a missing field', { ...base, name: undefined }, 'name', 'provider "name" is required'],
    ['a missing nested field', { ...base, token: {} }, 'token.url', 'provider "token.url" is required'],
    ['a field of the wrong type ("a")', { ...base, name: 5 }, 'name', 'provider "name" must be a string'],
    ['a field of the wrong type ("an")', { ...base, token: 'https://as.example/token' }, 'token', 'provider "token" must be an object'],
    ['a list of the wrong type', { ...base, grants: { client_credentials: { allowed: 'x' } } }, 'grants.client_credentials.allowed', 'provider "grants.client_credentials.allowed" must be an array'],
    ['an enum value', { ...base, token: { ...base.token, body: 'xml' } }, 'token.body', 'provider "token.body" must be one of "form", "json"'],
    ['a non-http URL', { ...base, issuer: 'ftp://as.example' }, 'issuer', 'provider "issuer" must be an http(s) URL'],
    ['a bad id', { ...base, id: 'Not Ok' }, 'id', 'provider "id" must match the regex format'],
    ['one unknown field', { ...base, tokne: {} }, 'tokne', 'provider "tokne" is not a known field'],
    ['three unknown fields', { ...base, foo: 1, bar: 2, baz: 3 }, 'foo', 'provider "foo" is not a known field (nor bar, baz)'],
    ['a nested unknown field', { ...base, token: { ...base.token, bodyy: 'json' } }, 'token.bodyy', 'provider "token.bodyy" is not a known field'],
    ['a bad record key', { ...base, headers: { 'bad header': 'x' } }, 'headers.bad header', 'provider "headers.bad header" is not an allowed key'],
    ['an empty list', { ...base, token: { ...base.token, authMethods: [] } }, 'token.authMethods', 'provider "token.authMethods" must have at least 1 item(s)'],
    ['a negative number', { ...base, issuer: 'https://as.example', openid: { jwksUri: 'https://as.example/jwks', clockToleranceS: -1 } }, 'openid.clockToleranceS', 'provider "openid.clockToleranceS" must be at least 0'],
    // z.positive(): 0 is refused, and the message says so (it said "must be at least 0").
    ['zero where it must be positive', { ...base, authorization: { url: 'https://as.example/authorize', codeLifetimeMs: 0 } }, 'authorization.codeLifetimeMs', 'provider "authorization.codeLifetimeMs" must be greater than 0'],
    ['an empty string', { ...base, name: '' }, 'name', 'provider "name" must not be empty'],
  ])('%s', (_what, data, field, message) => {
    const e = invalid(data);
    expect(e.field).toBe(field);
    expect(e.message).toBe(message);
    expect(Array.isArray(e.cause)).toBe(true);
    expect((e.cause as unknown[]).length).toBeGreaterThan(0);
  });
});

describe('parseProvider: consistency rules', () => {
  it.each([
    ['a code grant without an authorization endpoint', { ...base, grants: { authorization_code: {} } }, 'authorization', 'provider "authorization" is required when grants.authorization_code is declared'],
    ['a device grant without a device authorization endpoint', { ...base, grants: { device_code: {} } }, 'deviceAuthorization', 'provider "deviceAuthorization" is required when grants.device_code is declared'],
    [
      'PKCE without methods',
      { ...withCode, authorization: { ...withCode.authorization, pkce: { support: 'optional', methods: [] } } },
      'authorization.pkce.methods',
      'provider "authorization.pkce.methods" must list at least one method unless PKCE is unsupported',
    ],
    [
      'required PKCE without methods',
      { ...withCode, authorization: { ...withCode.authorization, pkce: { support: 'required', methods: [] } } },
      'authorization.pkce.methods',
      'provider "authorization.pkce.methods" must list at least one method unless PKCE is unsupported',
    ],
    ['an issuer audience without an issuer', { ...base, token: { ...base.token, assertionAudience: 'issuer' } }, 'issuer', 'provider "issuer" is required when token.assertionAudience is "issuer"'],
    ['openid without an issuer', { ...base, openid: { jwksUri: 'https://as.example/jwks' } }, 'issuer', 'provider "issuer" is required when openid is set: the id_token\'s iss is checked against it'],
    ['pushed authorization without an authorization endpoint', { ...base, pushedAuthorization: { url: 'https://as.example/par' } }, 'authorization', 'provider "authorization" is required when pushedAuthorization is set'],
    ['no grant', { ...base, grants: {} }, 'grants', 'provider "grants" must declare at least one grant'],
  ])('refuses %s', (_what, data, field, message) => {
    const e = invalid(data);
    expect(e.field).toBe(field);
    expect(e.message).toBe(message);
  });
  it.each([
    ['a code grant with its endpoint', withCode],
    ['unsupported PKCE without methods', { ...withCode, authorization: { ...withCode.authorization, pkce: { support: 'unsupported', methods: [] } } }],
    ['a device grant with its endpoint', { ...base, deviceAuthorization: { url: 'https://as.example/device' }, grants: { device_code: {} } }],
    ['an issuer audience with an issuer', { ...base, issuer: 'https://as.example', token: { ...base.token, assertionAudience: 'issuer' } }],
    ['openid with an issuer', { ...base, issuer: 'https://as.example', openid: { jwksUri: 'https://as.example/jwks' } }],
    ['pushed authorization with an authorization endpoint', { ...withCode, pushedAuthorization: { url: 'https://as.example/par' } }],
    ['only a refresh grant', { ...base, grants: { refresh_token: {} } }],
  ])('accepts %s', (_what, data) => {
    expect(parseProvider(data).id).toBe('x');
  });
});

describe('parseProvider: once', () => {
  it('returns a provider it parsed as it is; new data is parsed into a new object with defaults', () => {
    const first = parseProvider(base);
    expect(first).not.toBe(base);
    expect(first.token.body).toBe('form');
    expect(parseProvider(first)).toBe(first);
    expect(defineProvider(base)).not.toBe(first);
    expect(defineProvider(base)).toEqual(first);
  });
  it('the built-in providers load, and are returned as they are', async () => {
    const { poe, pathOfExile, openRouter, euRouter, poems } = await import('../../src/providers/index.js');
    for (const provider of [poe, pathOfExile, openRouter, euRouter, poems]) expect(parseProvider(provider)).toBe(provider);
  });
  it('a copy of a parsed provider is parsed again (and still checked)', () => {
    const first = parseProvider(base);
    const copy = { ...first };
    expect(parseProvider(copy)).not.toBe(copy);
    expect(parseProvider(copy)).toEqual(first);
    expect(invalid({ ...first, grants: {} }).field).toBe('grants');
  });
});
