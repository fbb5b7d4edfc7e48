import { describe, expect, it } from 'vitest';
import { mergeOverrides } from '../../src/provider/overrides.js';

/** mergeOverrides: the overrides of genericOAuth2 and discoverProvider, over the data they start from. */
describe('mergeOverrides', () => {
  it('merges objects field by field, all the way down, without changing the base', () => {
    const base = { token: { url: 'https://as.example/token', body: 'form', authMethods: ['client_secret_basic'] }, scopes: { default: ['openid'] } };
    const merged = mergeOverrides(base, { token: { authMethods: ['none'] }, headers: { 'x-a': '1' } });
    expect(merged).toEqual({
      token: { url: 'https://as.example/token', body: 'form', authMethods: ['none'] },
      scopes: { default: ['openid'] },
      headers: { 'x-a': '1' },
    });
    expect(base.token.authMethods).toEqual(['client_secret_basic']);
    expect(base).not.toHaveProperty('headers');
  });

  it('replaces arrays and values whole', () => {
    expect(mergeOverrides({ list: [1, 2, 3] }, { list: [9] })).toEqual({ list: [9] });
    expect(mergeOverrides({ a: 'x' }, { a: 'y' })).toEqual({ a: 'y' });
    expect(mergeOverrides({ a: { b: 1 } }, { a: 'flat' })).toEqual({ a: 'flat' });
    expect(mergeOverrides({ a: 'flat' }, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
    expect(mergeOverrides([1, 2], { 0: 9 })).toEqual({ 0: 9 });
  });

  it('skips undefined: the base is kept, at the top and inside', () => {
    const base = { a: 1, b: { c: 2, d: 3 } };
    expect(mergeOverrides(base, undefined)).toBe(base);
    expect(mergeOverrides(base, { a: undefined, b: { c: undefined, d: 4 } })).toEqual({ a: 1, b: { c: 2, d: 4 } });
  });

  it('null is a value, not an object: it replaces, and is replaced', () => {
    expect(mergeOverrides({ a: { b: 1 } }, { a: null })).toEqual({ a: null });
    expect(mergeOverrides({ a: null }, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
    expect(mergeOverrides({ a: 1 }, null)).toBeNull();
    expect(mergeOverrides(null, { a: 1 })).toEqual({ a: 1 });
  });
});
