import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isSecret, REDACTED, revealSecret, Secret, secret } from '../../src/secret.js';
import { isSealedTokenSet, plainTokenSet, sealTokenSet, type TokenSet } from '../../src/tokens.js';

const VALUE = 'the-secret-value-0123456789';

describe('Secret', () => {
  it('prints as [redacted] everywhere: JSON, string, template, console, structured clone', () => {
    const s = secret(VALUE);
    expect(JSON.stringify({ s })).toBe(`{"s":"${REDACTED}"}`);
    expect(String(s)).toBe(REDACTED);
    expect(`${s}`).toBe(REDACTED);
    expect('' + s).toBe(REDACTED);
    expect(inspect({ s }, { showHidden: true, depth: 5 })).not.toContain(VALUE);
    expect(JSON.stringify(structuredClone({ s }))).not.toContain(VALUE);
    expect(Object.prototype.toString.call(s)).toBe('[object Secret]');
    expect(Reflect.ownKeys(s)).toEqual([]);
    expect(inspect(s)).toBe(REDACTED);
  });

  it('is revealed only by grantflow, and a plain string passes through', () => {
    expect(revealSecret(Secret.of(VALUE))).toBe(VALUE);
    expect(revealSecret(VALUE)).toBe(VALUE);
    expect(() => revealSecret({} as Secret)).toThrow(new TypeError('not a grantflow Secret'));
    expect(isSecret(secret(VALUE))).toBe(true);
    expect(isSecret(VALUE)).toBe(false);
    expect(isSecret(null)).toBe(false);
    expect(isSecret({ toJSON: () => REDACTED })).toBe(false);
    expect(isSecret(undefined)).toBe(false);
    expect(isSecret(42)).toBe(false);
  });

  it('is frozen', () => {
    const s = secret(VALUE) as unknown as Record<string, unknown>;
    expect(Object.isFrozen(s)).toBe(true);
  });
});

describe('sealed TokenSet', () => {
  const tokens: TokenSet = { accessToken: 'at-0123456789', tokenType: 'Bearer', expiresAt: 1_000, refreshToken: 'rt-0123456789', scopes: ['a', 'b'], extra: { id_token: 'idt-0123456789', user_id: 'u1' } };

  it('reads like the plain set', () => {
    const sealed = sealTokenSet(tokens);
    expect(sealed.accessToken).toBe('at-0123456789');
    expect(sealed.refreshToken).toBe('rt-0123456789');
    expect(sealed.extra).toEqual({ id_token: 'idt-0123456789', user_id: 'u1' });
    expect(sealed.tokenType).toBe('Bearer');
    expect(sealed.expiresAt).toBe(1_000);
    expect(sealed.scopes).toEqual(['a', 'b']);
    expect(isSealedTokenSet(sealed)).toBe(true);
    expect(isSealedTokenSet(tokens)).toBe(false);
    expect(sealTokenSet(sealed)).toBe(sealed);
  });

  it('shows which fields exist, never their values: JSON, console, clone, spread', () => {
    const sealed = sealTokenSet(tokens);
    expect(JSON.parse(JSON.stringify(sealed))).toEqual({
      accessToken: REDACTED,
      tokenType: 'Bearer',
      expiresAt: 1_000,
      refreshToken: REDACTED,
      scopes: ['a', 'b'],
      extra: { id_token: REDACTED, user_id: REDACTED },
    });
    for (const text of [inspect(sealed, { showHidden: true, depth: 5 }), JSON.stringify(structuredClone(sealed)), JSON.stringify({ ...sealed })]) {
      for (const value of ['at-0123456789', 'rt-0123456789', 'idt-0123456789']) expect(text).not.toContain(value);
    }
    expect(Object.keys(sealed).sort()).toEqual(['expiresAt', 'scopes', 'tokenType']);
  });

  it('a set without refresh token, expiry or scopes says so', () => {
    const sealed = sealTokenSet({ accessToken: 'k-0123456789', tokenType: 'Bearer', extra: {} });
    expect(JSON.parse(JSON.stringify(sealed))).toEqual({ accessToken: REDACTED, tokenType: 'Bearer', extra: {} });
    expect(sealed.refreshToken).toBeUndefined();
    expect('expiresAt' in sealed).toBe(false);
  });

  it('plainTokenSet gives back a plain, complete copy', () => {
    const plain = plainTokenSet(sealTokenSet(tokens));
    expect(plain).toEqual(tokens);
    expect(JSON.parse(JSON.stringify(plain))).toEqual(tokens);
    expect(plainTokenSet({ accessToken: 'k', tokenType: 'Bearer', extra: {} })).toEqual({ accessToken: 'k', tokenType: 'Bearer', extra: {} });
  });

  it('sealing copies: later changes to the input do not reach the sealed set', () => {
    const input = { ...tokens, scopes: ['a'], extra: { user_id: 'u1' } };
    const sealed = sealTokenSet(input);
    input.scopes.push('b');
    input.extra.user_id = 'u2';
    expect(sealed.scopes).toEqual(['a']);
    expect(sealed.extra.user_id).toBe('u1');
  });
});
