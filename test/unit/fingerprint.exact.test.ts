import { describe, expect, it } from 'vitest';
import { flowFingerprint, providerFingerprint } from '../../src/provider/fingerprint.js';
import type { Provider } from '../../src/provider/schema.js';
import { genericOAuth2 } from '../../src/providers/index.js';

/**
 * Written against the survivors of a mutation run over src/provider/fingerprint.ts: key order in
 * every permutation and at every depth, the values that must tell data apart, and known answers
 * for the flow fingerprint (it is stored in every pending record, so it must not change).
 */

const fp = (value: unknown) => providerFingerprint(value as Provider);

describe('providerFingerprint: canonical JSON', () => {
  it('every order of the same keys gives the same fingerprint', () => {
    const orders = [
      { a: 2, b: 3, c: 1 },
      { a: 2, c: 1, b: 3 },
      { b: 3, a: 2, c: 1 },
      { b: 3, c: 1, a: 2 },
      { c: 1, a: 2, b: 3 },
      { c: 1, b: 3, a: 2 },
    ];
    for (const data of orders) expect(fp(data)).toBe('90e501ef10c5fddc');
  });
  it('objects inside arrays are sorted too; arrays keep their order', () => {
    expect(fp({ a: [{ y: 1, x: 2 }] })).toBe(fp({ a: [{ x: 2, y: 1 }] }));
    expect(fp({ a: [{ x: 1 }, { x: 2 }] })).not.toBe(fp({ a: [{ x: 2 }, { x: 1 }] }));
  });
  it('keys sort by code unit: "B" before "a", "a" before "aa"', () => {
    expect(fp({ B: 1, a: 2 })).toBe('f1e3217320884c30');
    expect(fp({ a: 2, B: 1 })).toBe('f1e3217320884c30');
    expect(fp({ aa: 1, a: 2 })).toBe('d061eaed3c793a2d');
    expect(fp({ a: 2, aa: 1 })).toBe('d061eaed3c793a2d');
  });
  it('tells apart what JSON tells apart: empty array, empty object, null, quoted strings, numbers and strings', () => {
    const values = [fp({ a: [] }), fp({ a: {} }), fp({ a: null }), fp({ a: 'x"y' }), fp({ a: 1 }), fp({ a: '1' }), fp({ a: true }), fp({ a: 'true' }), fp({ 'a"': 1 }), fp([])];
    expect(new Set(values).size).toBe(values.length);
    expect(fp({ a: [] })).toBe('64eff03611b72c10');
    expect(fp({ a: {} })).toBe('003aa17624506ad0');
    expect(fp({ a: null })).toBe('1b65dc511e5f2bc3');
    expect(fp({ a: 'x"y' })).toBe('e59b0e2773e93595');
    expect(fp([])).toBe('741638a5e8ab937b');
  });
  it('both halves are 16 hex digits in all, with leading zeros kept', () => {
    expect(fp({ a: 8 })).toBe('87b405140ed0b2dd');
    expect(fp({ a: 56 })).toBe('ea0907f30364a76d');
    expect(fp({ a: {} })).toBe('003aa17624506ad0');
  });
  it('an undefined field is left out at any depth', () => {
    expect(fp({ a: { b: undefined, c: 1 } })).toBe(fp({ a: { c: 1 } }));
  });
  it('the fingerprint of a real provider changes with a nested field', () => {
    const p = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/a', tokenEndpoint: 'https://as.example/t' });
    const changed = { ...p, authorization: { ...p.authorization!, pkce: { ...p.authorization!.pkce, methods: ['S256', 'plain'] as Array<'S256' | 'plain'> } } };
    expect(fp(changed)).not.toBe(fp(p));
    expect(fp(structuredClone(p))).toBe(fp(p));
  });
});

describe('providerFingerprint: once per provider object', () => {
  it('a second call does not read the provider again', () => {
    let reads = 0;
    const data = { id: 'as', token: { url: 'https://as.example/t' } };
    const counted = new Proxy(data, {
      get(target, key, receiver) {
        reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    const first = fp(counted);
    expect(first).toBe(fp(data));
    const afterFirst = reads;
    expect(afterFirst).toBeGreaterThan(0);
    expect(fp(counted)).toBe(first);
    expect(reads).toBe(afterFirst);
  });
});

describe('flowFingerprint', () => {
  const empty = {} as Provider;
  it('known answers: stable across versions', () => {
    expect(flowFingerprint(empty, 'app', 'https://app.example/cb')).toBe('8b7d2a0586eb29a8');
    expect(flowFingerprint(empty, 'app', 'https://app.example/cb2')).toBe('cd097495abf248b5');
    expect(flowFingerprint(empty, 'app2', 'https://app.example/cb')).toBe('ed90bf65628044e5');
    expect(flowFingerprint(empty, 'app4', 'https://app.example/cb')).toBe('275e79c70249d9ab');
  });
  it('depends on the provider data, the client id and the redirect URI as sent', () => {
    const base = flowFingerprint(empty, 'app', 'https://app.example/cb');
    expect(flowFingerprint({ a: 1 } as unknown as Provider, 'app', 'https://app.example/cb')).not.toBe(base);
    expect(flowFingerprint(empty, 'app', 'https://app.example/cb?state=S')).not.toBe(base);
    expect(flowFingerprint(empty, 'ap', 'phttps://app.example/cb')).not.toBe(base);
    expect(base).toMatch(/^[0-9a-f]{16}$/);
  });
});
