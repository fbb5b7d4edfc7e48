import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/errors.js';
import { callbackState, checkCallback } from '../../src/provider/callback.js';
import { genericOAuth2, poe } from '../../src/providers/index.js';

const withIssuer = genericOAuth2({ issuer: 'https://as.example', authorizationEndpoint: 'https://as.example/a', tokenEndpoint: 'https://as.example/t' });
const expectation = { provider: poe, state: 'S1' };
const fail = (url: unknown, expected = expectation): OAuthError => {
  try {
    checkCallback(url, expected);
  } catch (e) {
    return e as OAuthError;
  }
  throw new Error('expected a refusal');
};

describe('checkCallback', () => {
  it('returns the code of a good callback, full URL or query string alone', () => {
    expect(checkCallback('https://app/cb?code=C&state=S1', expectation)).toBe('C');
    expect(checkCallback('?code=C&state=S1', expectation)).toBe('C');
    expect(checkCallback('code=C&state=S1', expectation)).toBe('C');
    expect(checkCallback('https://app/cb#code=C&state=S1', expectation)).toBe('C');
  });
  it('an error parameter becomes that code, with its description', () => {
    expect(fail('https://app/cb?error=access_denied&error_description=nope&state=S1')).toMatchObject({ code: 'access_denied', description: 'nope', field: 'callback.error' });
    expect(fail('https://app/cb?error=invalid_scope&state=S1').code).toBe('invalid_scope');
  });
  it('a missing or different state is state_mismatch', () => {
    expect(fail('https://app/cb?code=C')).toMatchObject({ code: 'state_mismatch', field: 'callback.state' });
    expect(fail('https://app/cb?code=C&state=S2')).toMatchObject({ code: 'state_mismatch' });
  });
  it('iss is checked when the provider declares an issuer (RFC 9207)', () => {
    const expected = { provider: withIssuer, state: 'S1' };
    expect(checkCallback('https://app/cb?code=C&state=S1&iss=https%3A%2F%2Fas.example', expected)).toBe('C');
    expect(fail('https://app/cb?code=C&state=S1&iss=https%3A%2F%2Fevil.example', expected)).toMatchObject({ code: 'invalid_callback', field: 'callback.iss' });
    expect(fail('https://app/cb?code=C&state=S1', expected)).toMatchObject({ code: 'invalid_callback', field: 'callback.iss' });
  });
  it('a missing code is invalid_callback; so is garbage', () => {
    expect(fail('https://app/cb?state=S1')).toMatchObject({ code: 'invalid_callback', field: 'callback.code' });
    expect(fail(undefined).code).toBe('invalid_callback');
    expect(fail('').code).toBe('invalid_callback');
    expect(fail('https://[bad').code).toBe('invalid_callback');
  });
  it('callbackState finds the state to look the flow up by', () => {
    expect(callbackState('https://app/cb?code=C&state=S1')).toBe('S1');
    expect(callbackState('https://app/cb?code=C')).toBeUndefined();
  });
});
