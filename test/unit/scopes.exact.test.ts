import { describe, expect, it } from 'vitest';
import { parseProvider } from '../../src/provider/parse.js';
import { resolveScopes } from '../../src/provider/scopes.js';
import { genericOAuth2, openRouter, pathOfExile, poe } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

/**
 * Written against the survivors of a mutation run over src/provider/scopes.ts: pattern matching
 * (exact and `prefix*`), defaults, required scopes and their order, each refusal's message and field.
 */

const withRules = (rules: Record<string, unknown>) =>
  parseProvider({ ...genericOAuth2({ id: 'as', tokenEndpoint: 'https://as.example/token' }), grants: { client_credentials: rules } });

describe('resolveScopes: patterns', () => {
  it('"service:*" allows every scope that starts with "service:", and only those (Path of Exile)', () => {
    expect(resolveScopes(pathOfExile, 'client_credentials', ['service:leagues', 'service:leagues:ladder', 'service:'], true)).toEqual([
      'service:leagues',
      'service:leagues:ladder',
      'service:',
    ]);
    expect(thrown(() => resolveScopes(pathOfExile, 'client_credentials', ['service:leagues', 'services:x'], true))).toMatchObject({ code: 'invalid_scope', field: 'scopes.1' });
    expect(thrown(() => resolveScopes(pathOfExile, 'client_credentials', ['xservice:leagues'], true)).field).toBe('scopes.0');
  });
  it('an exact pattern matches that scope only, not one it starts', () => {
    const p = withRules({ allowed: ['read'] });
    expect(resolveScopes(p, 'client_credentials', ['read'], true)).toEqual(['read']);
    expect(thrown(() => resolveScopes(p, 'client_credentials', ['reader'], true))).toMatchObject({ code: 'invalid_scope', field: 'scopes.0' });
    expect(thrown(() => resolveScopes(p, 'client_credentials', ['rea'], true))).toMatchObject({ code: 'invalid_scope', field: 'scopes.0' });
  });
  it('a star only counts at the end of a pattern', () => {
    const p = withRules({ allowed: ['*:read'] });
    expect(resolveScopes(p, 'client_credentials', ['*:read'], true)).toEqual(['*:read']);
    expect(thrown(() => resolveScopes(p, 'client_credentials', ['x:read'], true)).code).toBe('invalid_scope');
  });
  it('"service:*" forbidden at login refuses service scopes, with the pattern in the message (Path of Exile)', () => {
    const e = thrown(() => resolveScopes(pathOfExile, 'authorization_code', ['account:profile', 'service:psapi'], false));
    expect(e).toMatchObject({
      code: 'invalid_scope',
      field: 'scopes.1',
      message: 'scope "service:psapi" is not allowed in the authorization_code grant of provider "path-of-exile" (forbidden: service:*)',
    });
    expect(resolveScopes(pathOfExile, 'authorization_code', ['account:profile', 'account:stashes'], false)).toEqual(['account:profile', 'account:stashes']);
  });
  it('a scope outside allowed names the allowed list', () => {
    expect(thrown(() => resolveScopes(withRules({ allowed: ['a', 'b:*'] }), 'client_credentials', ['c'], true))).toMatchObject({
      code: 'invalid_scope',
      field: 'scopes.0',
      message: 'scope "c" is not allowed in the client_credentials grant of provider "as" (allowed: a, b:*)',
    });
  });
  it('a scope needs to match one allowed pattern, not all of them', () => {
    expect(resolveScopes(withRules({ allowed: ['a', 'b:*'] }), 'client_credentials', ['a', 'b:x'], true)).toEqual(['a', 'b:x']);
  });
  it('no allowed list means any scope', () => {
    expect(resolveScopes(withRules({}), 'client_credentials', ['anything', 'else:*'], true)).toEqual(['anything', 'else:*']);
  });
});

describe('resolveScopes: defaults, required scopes, duplicates', () => {
  const p = withRules({ required: ['openid', 'r'], default: ['d1', 'd2'] });
  it('required first, then the asked ones, each once', () => {
    expect(resolveScopes(p, 'client_credentials', ['x', 'r', 'x', 'y'], true)).toEqual(['openid', 'r', 'x', 'y']);
  });
  it('the defaults when none or an empty list is asked, not when some are', () => {
    expect(resolveScopes(p, 'client_credentials', undefined, true)).toEqual(['openid', 'r', 'd1', 'd2']);
    expect(resolveScopes(p, 'client_credentials', [], true)).toEqual(['openid', 'r', 'd1', 'd2']);
    expect(resolveScopes(p, 'client_credentials', ['x'], true)).toEqual(['openid', 'r', 'x']);
  });
  it('no scopes at all is an empty list', () => {
    expect(resolveScopes(withRules({}), 'client_credentials', undefined, false)).toEqual([]);
  });
  it('a default scope is checked too', () => {
    const bad = withRules({ allowed: ['a'], default: ['b'] });
    expect(thrown(() => resolveScopes(bad, 'client_credentials', undefined, true))).toMatchObject({ code: 'invalid_scope', field: 'scopes.0' });
  });
});

describe('resolveScopes: bad input', () => {
  it.each([
    ['empty', ''],
    ['a space', 'a b'],
    ['a tab', 'a\tb'],
    ['a newline', 'a\n'],
    ['a number', 5],
    ['null', null],
  ])('a scope that is %s is invalid_scope naming its index', (_what, scope) => {
    const e = thrown(() => resolveScopes(withRules({}), 'client_credentials', ['ok', scope as string], true));
    expect(e).toMatchObject({ code: 'invalid_scope', field: 'scopes.1', message: 'scope at index 1 must be a non-empty string without spaces' });
  });
  it('scopes that are not an array are invalid_configuration with an example', () => {
    expect(thrown(() => resolveScopes(poe, 'authorization_code', 'apikey:create' as never, false))).toMatchObject({
      code: 'invalid_configuration',
      field: 'scopes',
      message: 'scopes must be an array of strings, such as ["account:profile"]',
    });
  });
  it('a grant the provider does not support names it', () => {
    expect(thrown(() => resolveScopes(openRouter, 'client_credentials', [], true))).toMatchObject({
      code: 'invalid_configuration',
      field: 'provider.grants.client_credentials',
      message: 'provider "openrouter" does not support the client_credentials grant',
    });
  });
  it('a confidential-only grant refuses a public client, and says what to pass', () => {
    expect(thrown(() => resolveScopes(pathOfExile, 'client_credentials', ['service:leagues'], false))).toMatchObject({
      code: 'invalid_configuration',
      field: 'secrets',
      message: 'provider "path-of-exile" allows the client_credentials grant for confidential clients only; pass a client secret or private key',
    });
  });
});
