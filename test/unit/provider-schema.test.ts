import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/errors.js';
import { parseProvider } from '../../src/provider/parse.js';
import { euRouter, genericOAuth2, openRouter, pathOfExile, poe, poems } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

const builtIn = { poe, pathOfExile, openRouter, euRouter, poems, generic: genericOAuth2({ authorizationEndpoint: 'https://as.example/a', tokenEndpoint: 'https://as.example/t' }) };

function invalid(data: unknown): OAuthError {
  const error = thrown(() => parseProvider(data));
  expect(error.code).toBe('invalid_provider');
  return error;
}

function hasFunction(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (value && typeof value === 'object') return Object.values(value).some(hasFunction);
  return false;
}

describe('ProviderSchema', () => {
  it.each(Object.entries(builtIn))('%s parses, is plain JSON, and holds no function', (_name, provider) => {
    expect(parseProvider(provider)).toEqual(provider);
    expect(JSON.parse(JSON.stringify(provider))).toEqual(provider);
    expect(hasFunction(provider)).toBe(false);
  });

  it('a parsed provider survives a JSON round trip and parses again to the same data', () => {
    for (const provider of Object.values(builtIn)) expect(parseProvider(JSON.parse(JSON.stringify(provider)))).toEqual(provider);
  });

  const base = { id: 'x', name: 'X', token: { url: 'https://as.example/token' }, grants: { client_credentials: {} } };
  it.each([
    ['a token URL that is not http(s)', { ...base, token: { url: 'ftp://as.example/token' } }, 'token.url', /http\(s\) URL/],
    ['an unknown auth method', { ...base, token: { ...base.token, authMethods: ['magic'] } }, 'token.authMethods.0', /one of "none"/],
    ['a missing token endpoint', { ...base, token: undefined }, 'token', /is required/],
    ['a missing name', { ...base, name: undefined }, 'name', /is required/],
    ['an unknown field (a typo)', { ...base, token: { ...base.token, bodyy: 'json' } }, 'token.bodyy', /not a known field/],
    ['a statusErrors key that is not a 4xx/5xx status', { ...base, token: { ...base.token, statusErrors: { '200': 'x' } } }, 'token.statusErrors.200', /not an allowed key/],
    ['a bad redirect parameter name', { ...base, authorization: { url: 'https://as.example/a', redirectParam: 'return_to' }, grants: { authorization_code: {} } }, 'authorization.redirectParam', /one of/],
    ['a function where data belongs', { ...base, name: () => 'X' }, 'name', /must be a string/],
    ['a code grant without an authorization endpoint', { ...base, grants: { authorization_code: {} } }, 'authorization', /required when/],
    ['no grant at all', { ...base, grants: {} }, 'grants', /at least one grant/],
    ['an issuer audience without an issuer', { ...base, token: { ...base.token, assertionAudience: 'issuer' } }, 'issuer', /required when/],
  ])('refuses %s, naming the field', (_what, data, field, message) => {
    const error = invalid(data);
    expect(error.field).toBe(field);
    expect(error.message).toContain(`"${field}"`);
    expect(error.message).toMatch(message);
  });
});

describe('no code branches on a provider id', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
    });
  it('src/ and machines/ never compare provider.id or switch on it', () => {
    const offenders = [...files('src'), ...files('machines')].filter((file) => {
      const text = readFileSync(file, 'utf8');
      return /\.id\s*===?\s*['"`]|['"`]\s*===?\s*[\w.]*\.id\b|switch\s*\([\w.]*\.id\)|case\s+['"](poe|path-of-exile|openrouter|eurouter|poems)['"]/.test(text);
    });
    expect(offenders).toEqual([]);
  });
});
