import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/errors.js';
import { callbackState, checkCallback, type CallbackExpectation } from '../../src/provider/callback.js';
import { parseProvider } from '../../src/provider/parse.js';
import { genericOAuth2, poe } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

/**
 * Written against the survivors of a mutation run over src/provider/callback.ts: exact messages and
 * fields of every refusal, whitespace and `:` in callbacks, empty values, every refused scheme,
 * and a flow state that is empty.
 */

const ISSUER = 'https://as.example';
const withIssuer = genericOAuth2({ issuer: ISSUER, authorizationEndpoint: `${ISSUER}/a`, tokenEndpoint: `${ISSUER}/t` });
const expectation: CallbackExpectation = { provider: poe, state: 'S1' };
const fail = (url: unknown, expected: CallbackExpectation = expectation): OAuthError => thrown(() => checkCallback(url, expected));

describe('checkCallback: the callback string', () => {
  it.each([
    ['undefined', undefined],
    ['a number', 42],
    ['empty', ''],
    ['only spaces', '   '],
    ['only a newline and a tab', '\n\t'],
  ])('%s is invalid_callback on callback.url', (_what, callback) => {
    expect(fail(callback)).toMatchObject({ code: 'invalid_callback', field: 'callback.url', message: 'callback must be the callback URL or its query string' });
  });
  it('a URL that does not parse is invalid_callback on callback.url', () => {
    expect(fail('https://[bad/cb?code=C&state=S1')).toMatchObject({ code: 'invalid_callback', field: 'callback.url', message: 'callback is not a valid URL' });
  });
  it('spaces around a full URL or a query string are ignored', () => {
    expect(checkCallback('  https://app/cb?code=C&state=S1  ', expectation)).toBe('C');
    expect(checkCallback('\nhttps://app/cb?code=C&state=S1\n', expectation)).toBe('C');
    expect(checkCallback(' ?code=C&state=S1 ', expectation)).toBe('C');
  });
  it('a bare query string with ":" in a value is a query string, not a URL with a scheme', () => {
    expect(checkCallback('state=S1&code=a:b', expectation)).toBe('a:b');
    expect(checkCallback(`code=C&state=S1&iss=${ISSUER}`, { provider: withIssuer, state: 'S1' })).toBe('C');
    expect(callbackState('code=urn:x&state=S1')).toBe('S1');
  });
  it('a bare query string ending in an empty fragment is read as a query string', () => {
    expect(checkCallback('code=C&state=S1#', expectation)).toBe('C');
    expect(callbackState('code=C&state=S1#')).toBe('S1');
  });
  it('private-use schemes with digits, "+" and "-" are schemes (RFC 3986 §3.1)', () => {
    expect(checkCallback('com.example-app2+x:/cb?code=C&state=S1', expectation)).toBe('C');
    expect(checkCallback('com.example-app2+x:/cb?code=C&state=S1', { ...expectation, redirectUri: 'com.example-app2+x:/cb', matchRedirectUri: true })).toBe('C');
  });
});

describe('checkCallback: state', () => {
  it('a missing state and a different state are told apart in the message, never echoed', () => {
    expect(fail('https://app/cb?code=C')).toMatchObject({ code: 'state_mismatch', field: 'callback.state', message: 'callback has no "state"' });
    expect(fail('https://app/cb?code=C&state=S2')).toMatchObject({ code: 'state_mismatch', field: 'callback.state', message: 'callback "state" does not match this flow' });
    expect(fail('https://app/cb?code=C&state=')).toMatchObject({ code: 'state_mismatch', message: 'callback "state" does not match this flow' });
  });
  it('a missing state never matches, not even a flow state that is empty', () => {
    expect(fail('https://app/cb?code=C', { provider: poe, state: '' })).toMatchObject({ code: 'state_mismatch', field: 'callback.state', message: 'callback has no "state"' });
  });
  it('the duplicate message names the parameter and the RFC', () => {
    expect(fail('https://app/cb?code=C&state=S1&state=S1').message).toBe('callback has "state" more than once (RFC 6749 §3.1)');
    expect(fail('https://app/cb?code=C&code=D&state=S1').message).toBe('callback has "code" more than once (RFC 6749 §3.1)');
  });
});

describe('checkCallback: error, iss and code', () => {
  it('an error with a description: code, description, serverCode and the exact message', () => {
    const e = fail('https://app/cb?state=S1&error=access_denied&error_description=user+said+no');
    expect(e).toMatchObject({ code: 'access_denied', description: 'user said no', serverCode: 'access_denied', field: 'callback.error' });
    expect(e.message).toBe('authorization failed: access_denied: user said no');
  });
  it('an empty error_description is no description', () => {
    const e = fail('https://app/cb?state=S1&error=access_denied&error_description=');
    expect(e.description).toBeUndefined();
    expect(e.message).toBe('authorization failed: access_denied');
  });
  it('a malformed error says what an OAuth error code is', () => {
    expect(fail('https://app/cb?state=S1&error=').message).toBe('callback "error" is not an OAuth error code (RFC 6749 §4.1.2.1: 1 to 256 printable ASCII characters, no " or \\)');
  });
  it('iss: the message says what was expected, and what came', () => {
    const expected = { provider: withIssuer, state: 'S1' };
    expect(fail('https://app/cb?code=C&state=S1', expected)).toMatchObject({ field: 'callback.iss', message: 'callback has no "iss" (expected https://as.example)' });
    expect(fail('https://app/cb?code=C&state=S1&iss=https%3A%2F%2Fevil.example', expected)).toMatchObject({
      field: 'callback.iss',
      message: 'callback "iss" is https://evil.example, expected https://as.example',
    });
  });
  it('a provider with an issuer but no authorization data still requires iss', () => {
    const tokenOnly = parseProvider({ id: 'svc', name: 'Svc', issuer: ISSUER, token: { url: `${ISSUER}/t` }, grants: { client_credentials: {} } });
    expect(checkCallback(`https://app/cb?code=C&state=S1&iss=${encodeURIComponent(ISSUER)}`, { provider: tokenOnly, state: 'S1' })).toBe('C');
    expect(fail('https://app/cb?code=C&state=S1', { provider: tokenOnly, state: 'S1' })).toMatchObject({ code: 'invalid_callback', field: 'callback.iss' });
  });
  it('an empty code is no code', () => {
    expect(fail('https://app/cb?code=&state=S1')).toMatchObject({ code: 'invalid_callback', field: 'callback.code', message: 'callback has no "code"' });
    expect(fail('https://app/cb?state=S1').message).toBe('callback has no "code"');
  });
});

describe('checkCallback: redirect URI checks', () => {
  it.each(['vbscript', 'blob', 'about', 'filesystem', 'view-source', 'ws', 'wss', 'ftp', 'mailto', 'tel', 'sms', 'javascript', 'data', 'file'])(
    '%s: is refused even when the redirect URI has that scheme',
    (scheme) => {
      const redirectUri = `${scheme}://app.example/cb`;
      expect(fail(`${redirectUri}?code=C&state=S1`, { ...expectation, redirectUri })).toMatchObject({
        code: 'invalid_callback',
        field: 'callback.url',
        message: `callback URL scheme "${scheme}:" is never a redirect target`,
      });
    },
  );
  it('a scheme that is neither http(s) nor private-use says so', () => {
    expect(fail('myapp://cb?code=C&state=S1')).toMatchObject({
      field: 'callback.url',
      message: 'callback URL scheme "myapp:" is neither http(s) nor a private-use scheme (RFC 8252 §7.1)',
    });
  });
  it('another scheme than the redirect URI\'s names both', () => {
    expect(fail('http://app/cb?code=C&state=S1', { ...expectation, redirectUri: 'https://app/cb' })).toMatchObject({
      field: 'callback.url',
      message: 'callback URL scheme "http:" is not the redirect URI\'s "https:"',
    });
  });
  it('another origin or path, with matchRedirectUri', () => {
    expect(fail('https://evil/cb?code=C&state=S1', { ...expectation, redirectUri: 'https://app/cb', matchRedirectUri: true })).toMatchObject({
      field: 'callback.url',
      message: "callback URL origin and path are not the redirect URI's",
    });
  });
  it('the caller\'s own mistakes are invalid_configuration on redirectUri, with the reason', () => {
    expect(fail('https://app/cb?code=C&state=S1', { ...expectation, matchRedirectUri: true })).toMatchObject({
      code: 'invalid_configuration',
      field: 'redirectUri',
      message: 'matchRedirectUri needs the redirectUri to compare the callback URL with',
    });
    expect(fail('https://app/cb?code=C&state=S1', { ...expectation, redirectUri: 'not a url' })).toMatchObject({
      code: 'invalid_configuration',
      field: 'redirectUri',
      message: 'redirectUri is not a valid URL',
    });
  });
});
