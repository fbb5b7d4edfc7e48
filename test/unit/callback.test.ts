import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/errors.js';
import { callbackState, checkCallback, type CallbackExpectation } from '../../src/provider/callback.js';
import { genericOAuth2, poe } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

const withIssuer = genericOAuth2({ issuer: 'https://as.example', authorizationEndpoint: 'https://as.example/a', tokenEndpoint: 'https://as.example/t' });
const expectation = { provider: poe, state: 'S1' };
const fail = (url: unknown, expected: CallbackExpectation = expectation): OAuthError => thrown(() => checkCallback(url, expected));

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
  it("an error answer from another issuer is refused as invalid_callback, not believed (RFC 9207 §2.4); one without iss is taken as sent", () => {
    const expected = { provider: withIssuer, state: 'S1' };
    const forged = fail('https://app/cb?state=S1&error=access_denied&iss=https%3A%2F%2Fevil.example', expected);
    expect(forged).toMatchObject({ code: 'invalid_callback', field: 'callback.iss', message: 'callback "iss" is https://evil.example, expected https://as.example' });
    expect(forged.serverCode).toBeUndefined();
    expect(fail('https://app/cb?state=S1&error=access_denied&iss=https%3A%2F%2Fas.example', expected)).toMatchObject({ code: 'access_denied', field: 'callback.error' });
    expect(fail('https://app/cb?state=S1&error=access_denied', expected)).toMatchObject({ code: 'access_denied', field: 'callback.error' });
  });
  it('requiresIss: false (RFC 9207 §2.4, a server that does not send iss): a missing iss is accepted, a wrong one still refused', () => {
    const lenient = genericOAuth2({ issuer: 'https://as.example', requiresIss: false, authorizationEndpoint: 'https://as.example/a', tokenEndpoint: 'https://as.example/t' });
    const expected = { provider: lenient, state: 'S1' };
    expect(lenient.authorization?.requiresIss).toBe(false);
    expect(checkCallback('https://app/cb?code=C&state=S1', expected)).toBe('C');
    expect(checkCallback('https://app/cb?code=C&state=S1&iss=https%3A%2F%2Fas.example', expected)).toBe('C');
    expect(fail('https://app/cb?code=C&state=S1&iss=https%3A%2F%2Fevil.example', expected)).toMatchObject({ code: 'invalid_callback', field: 'callback.iss' });
    expect(fail('https://app/cb?code=C&state=S1&iss=', expected)).toMatchObject({ code: 'invalid_callback', field: 'callback.iss' });
    expect(fail('https://app/cb?code=C&state=S1&iss=x&iss=x', expected)).toMatchObject({ code: 'invalid_callback', field: 'callback.iss' });
  });
  it('requiresIss: true, or absent with an issuer, refuses a callback without iss; without an issuer it has no effect', () => {
    const strict = genericOAuth2({ issuer: 'https://as.example', requiresIss: true, authorizationEndpoint: 'https://as.example/a', tokenEndpoint: 'https://as.example/t' });
    expect(withIssuer.authorization?.requiresIss).toBeUndefined();
    expect(fail('https://app/cb?code=C&state=S1', { provider: strict, state: 'S1' })).toMatchObject({ code: 'invalid_callback', field: 'callback.iss' });
    expect(fail('https://app/cb?code=C&state=S1', { provider: withIssuer, state: 'S1' }).message).toContain('no "iss"');
    const noIssuer = genericOAuth2({ requiresIss: true, authorizationEndpoint: 'https://as.example/a', tokenEndpoint: 'https://as.example/t' });
    expect(checkCallback('https://app/cb?code=C&state=S1', { provider: noIssuer, state: 'S1' })).toBe('C');
    expect(checkCallback('https://app/cb?code=C&state=S1&iss=https%3A%2F%2Fany.example', { provider: noIssuer, state: 'S1' })).toBe('C');
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

describe('checkCallback: state first', () => {
  it('an error without the flow\'s state is state_mismatch, not that error', () => {
    expect(fail('https://app/cb?error=access_denied')).toMatchObject({ code: 'state_mismatch', field: 'callback.state' });
    expect(fail('https://app/cb?error=access_denied&state=S2')).toMatchObject({ code: 'state_mismatch', field: 'callback.state' });
    expect(fail('?error=access_denied&error_description=nope')).toMatchObject({ code: 'state_mismatch', field: 'callback.state' });
    expect(fail('https://app/cb?error=access_denied&state=S1')).toMatchObject({ code: 'access_denied', field: 'callback.error' });
  });
  it('a wrong state is reported before a wrong iss or a missing code', () => {
    const expected = { provider: withIssuer, state: 'S1' };
    expect(fail('https://app/cb?state=S2&iss=https%3A%2F%2Fevil.example', expected)).toMatchObject({ code: 'state_mismatch' });
    expect(fail('https://app/cb?state=S2')).toMatchObject({ code: 'state_mismatch' });
  });
  it('error is checked before iss, iss before code', () => {
    const expected = { provider: withIssuer, state: 'S1' };
    expect(fail('https://app/cb?state=S1&error=access_denied', expected)).toMatchObject({ code: 'access_denied' });
    expect(fail('https://app/cb?state=S1', expected)).toMatchObject({ field: 'callback.iss' });
  });
});

describe('checkCallback: duplicated parameters (RFC 6749 §3.1)', () => {
  it.each(['code', 'iss', 'error', 'error_description', 'error_uri'])('a second "%s" is invalid_callback naming it', (name) => {
    const e = fail(`https://app/cb?code=C&state=S1&${name}=x&${name}=y`);
    expect(e).toMatchObject({ code: 'invalid_callback', field: `callback.${name}` });
    expect(e.message).toContain(`"${name}"`);
  });
  it('a second code is refused even when both are equal, and when the provider checks iss', () => {
    expect(fail('https://app/cb?code=C&code=C&state=S1')).toMatchObject({ code: 'invalid_callback', field: 'callback.code' });
    expect(fail('https://app/cb?code=C&state=S1&iss=https%3A%2F%2Fas.example&iss=https%3A%2F%2Fas.example', { provider: withIssuer, state: 'S1' })).toMatchObject({
      code: 'invalid_callback',
      field: 'callback.iss',
    });
  });
  it('a duplicated state is refused before it is compared, even when one copy is right', () => {
    expect(fail('https://app/cb?code=C&state=S1&state=S1')).toMatchObject({ code: 'invalid_callback', field: 'callback.state' });
    expect(fail('https://app/cb?code=C&state=S2&state=S1')).toMatchObject({ code: 'invalid_callback', field: 'callback.state' });
    expect(fail('?state=S1&state=S2&code=C').message).toContain('"state"');
  });
  it('callbackState is undefined for a duplicated state', () => {
    expect(callbackState('https://app/cb?code=C&state=S1&state=S1')).toBeUndefined();
    expect(callbackState('code=C&state=S1&state=S2')).toBeUndefined();
    expect(callbackState('https://app/cb?code=C&state=S1#state=S2')).toBeUndefined();
    expect(callbackState('https://[bad')).toBeUndefined();
  });
  it('the fragment (response_mode=fragment) is read; a parameter in both query and fragment is a duplicate', () => {
    expect(checkCallback('https://app/cb#code=C&state=S1', expectation)).toBe('C');
    expect(checkCallback('https://app/cb?state=S1#code=C', expectation)).toBe('C');
    expect(callbackState('https://app/cb#code=C&state=S1')).toBe('S1');
    expect(fail('https://app/cb?code=C&state=S1#code=D')).toMatchObject({ code: 'invalid_callback', field: 'callback.code' });
    expect(fail('https://app/cb?code=C&state=S1#state=S1')).toMatchObject({ code: 'invalid_callback', field: 'callback.state' });
    expect(fail('https://app/cb?state=S1&error=access_denied#error=access_denied')).toMatchObject({ code: 'invalid_callback', field: 'callback.error' });
  });
  it('other parameters may repeat', () => {
    expect(checkCallback('https://app/cb?code=C&state=S1&scope=a&scope=b', expectation)).toBe('C');
  });
});

describe('checkCallback: error and error_description values', () => {
  it('a valid error is the OAuthError code when it is a known one, else unknown_error; serverCode keeps it as sent, up to 256 characters', () => {
    expect(fail('https://app/cb?state=S1&error=temporarily_unavailable')).toMatchObject({ code: 'temporarily_unavailable', serverCode: 'temporarily_unavailable' });
    expect(fail('https://app/cb?state=S1&error=consent_required').code).toBe('consent_required');
    const long = 'e'.repeat(256);
    expect(fail(`https://app/cb?state=S1&error=${long}`)).toMatchObject({ code: 'unknown_error', serverCode: long, field: 'callback.error' });
    expect(fail('https://app/cb?state=S1&error=a+b!')).toMatchObject({ code: 'unknown_error', serverCode: 'a b!' });
  });
  it.each([
    ['empty', ''],
    ['longer than 256', 'e'.repeat(257)],
    ['a quote', 'bad%22code'],
    ['a backslash', 'bad%5Ccode'],
    ['a newline', 'bad%0Acode'],
    ['a tab', 'bad%09code'],
    ['non-ASCII', 'caf%C3%A9'],
    ['DEL', 'bad%7F'],
  ])('an error with %s is invalid_callback, not echoed', (_what, value) => {
    const e = fail(`https://app/cb?state=S1&error=${value}`);
    expect(e).toMatchObject({ code: 'invalid_callback', field: 'callback.error' });
    if (value.length > 3) expect(e.message).not.toContain(decodeURIComponent(value));
  });
  it('an error_description longer than 1024 characters is cut, with …, in description and message', () => {
    const long = 'd'.repeat(5000);
    const e = fail(`https://app/cb?state=S1&error=access_denied&error_description=${long}`);
    expect(e.code).toBe('access_denied');
    expect(e.description).toHaveLength(1024);
    expect(e.description!.endsWith('…')).toBe(true);
    expect(e.description!.startsWith('d'.repeat(1023))).toBe(true);
    expect(e.message).toContain(e.description!);
    expect(e.message).not.toContain('d'.repeat(1024));
    const exact = 'd'.repeat(1024);
    expect(fail(`https://app/cb?state=S1&error=access_denied&error_description=${exact}`).description).toBe(exact);
  });
  it.each([
    ['a quote', 'said %22no%22'],
    ['a newline', 'line%0Ainjected'],
    ['non-ASCII', 'refus%C3%A9'],
    ['a backslash', 'a%5Cb'],
  ])('an error_description with %s is dropped, not echoed', (_what, value) => {
    const e = fail(`https://app/cb?state=S1&error=access_denied&error_description=${value}`);
    expect(e).toMatchObject({ code: 'access_denied', field: 'callback.error' });
    expect(e.description).toBeUndefined();
    expect(e.message).toBe('authorization failed: access_denied');
  });
});

describe('checkCallback: the callback URL itself', () => {
  it.each([
    'javascript:alert(1)//?code=C&state=S1',
    'JavaScript:alert(1)//?code=C&state=S1',
    'data:text/html,x?code=C&state=S1',
    'file:///cb?code=C&state=S1',
    'blob:https://app/1?code=C&state=S1',
    'vbscript:x?code=C&state=S1',
    'about:blank?code=C&state=S1',
    'ftp://app/cb?code=C&state=S1',
    'myapp://cb?code=C&state=S1',
  ])('%s is refused (callback.url) when no redirect URI says otherwise', (url) => {
    expect(fail(url)).toMatchObject({ code: 'invalid_callback', field: 'callback.url' });
  });
  it('javascript:, data: and file: are refused even when the redirect URI has that scheme', () => {
    for (const url of ['javascript:x?code=C&state=S1', 'data:x?code=C&state=S1', 'file:///cb?code=C&state=S1']) {
      const redirectUri = url.slice(0, url.indexOf('?'));
      expect(fail(url, { ...expectation, redirectUri })).toMatchObject({ code: 'invalid_callback', field: 'callback.url' });
    }
  });
  it('http(s) and RFC 8252 private-use schemes are accepted; a bare query string too', () => {
    expect(checkCallback('http://127.0.0.1:8080/callback?code=C&state=S1', expectation)).toBe('C');
    expect(checkCallback('https://app/cb?code=C&state=S1', expectation)).toBe('C');
    expect(checkCallback('com.example.app:/cb?code=C&state=S1', expectation)).toBe('C');
    expect(checkCallback('com.example.app:/cb?code=C&state=S1', { ...expectation, redirectUri: 'com.example.app:/cb' })).toBe('C');
    expect(checkCallback('myapp://cb?code=C&state=S1', { ...expectation, redirectUri: 'myapp://cb' })).toBe('C');
    expect(checkCallback('?code=C&state=S1', { ...expectation, redirectUri: 'com.example.app:/cb', matchRedirectUri: true })).toBe('C');
    expect(checkCallback('code=C&state=S1', { ...expectation, redirectUri: 'https://app/cb', matchRedirectUri: true })).toBe('C');
  });
  it('with a redirect URI, the callback URL must have its scheme', () => {
    expect(fail('http://app/cb?code=C&state=S1', { ...expectation, redirectUri: 'https://app/cb' })).toMatchObject({ code: 'invalid_callback', field: 'callback.url' });
    expect(fail('https://app/cb?code=C&state=S1', { ...expectation, redirectUri: 'com.example.app:/cb' })).toMatchObject({ code: 'invalid_callback', field: 'callback.url' });
    expect(fail('com.evil.app:/cb?code=C&state=S1', { ...expectation, redirectUri: 'com.example.app:/cb' })).toMatchObject({ code: 'invalid_callback', field: 'callback.url' });
    expect(checkCallback('HTTPS://app/cb?code=C&state=S1', { ...expectation, redirectUri: 'https://app/cb' })).toBe('C');
  });
  it('by default the host and path may differ from the redirect URI (a proxy)', () => {
    expect(checkCallback('https://internal:8443/other?code=C&state=S1', { ...expectation, redirectUri: 'https://app.example/cb' })).toBe('C');
  });
  it('matchRedirectUri: origin and path must equal the redirect URI\'s, query and fragment ignored', () => {
    const strict = { ...expectation, redirectUri: 'https://app.example/cb?from=login', matchRedirectUri: true };
    expect(checkCallback('https://app.example/cb?code=C&state=S1', strict)).toBe('C');
    expect(checkCallback('https://APP.example:443/cb?code=C&state=S1#x', strict)).toBe('C');
    for (const url of [
      'https://evil.example/cb?code=C&state=S1',
      'https://app.example:8443/cb?code=C&state=S1',
      'https://app.example/other?code=C&state=S1',
      'https://app.example/cb/?code=C&state=S1',
      'https://app.example/CB?code=C&state=S1',
      'http://app.example/cb?code=C&state=S1',
    ]) {
      expect(fail(url, strict), url).toMatchObject({ code: 'invalid_callback', field: 'callback.url' });
    }
    const native = { ...expectation, redirectUri: 'com.example.app:/oauth2redirect', matchRedirectUri: true };
    expect(checkCallback('com.example.app:/oauth2redirect?code=C&state=S1', native)).toBe('C');
    expect(fail('com.example.app:/elsewhere?code=C&state=S1', native)).toMatchObject({ code: 'invalid_callback', field: 'callback.url' });
  });
  it('matchRedirectUri without a redirect URI, or an unparseable redirect URI, is the caller\'s invalid_configuration', () => {
    expect(fail('https://app/cb?code=C&state=S1', { ...expectation, matchRedirectUri: true })).toMatchObject({ code: 'invalid_configuration' });
    expect(fail('https://app/cb?code=C&state=S1', { ...expectation, redirectUri: 'not a url' })).toMatchObject({ code: 'invalid_configuration' });
  });
});

describe('checkCallback: no secret in a message', () => {
  it('the code value is never in any message', () => {
    const code = 'SECRET-CODE-42';
    const expected = { provider: withIssuer, state: 'S1', redirectUri: 'https://app/cb', matchRedirectUri: true };
    const urls = [
      `https://app/cb?code=${code}`,
      `https://app/cb?code=${code}&state=S2`,
      `https://app/cb?code=${code}&code=${code}&state=S1`,
      `https://app/cb?code=${code}&state=S1&state=S1`,
      `https://app/cb?code=${code}&state=S1`,
      `https://app/cb?code=${code}&state=S1&iss=x`,
      `https://app/cb?code=${code}&state=S1&error=access_denied`,
      `https://app/cb?code=${code}&state=S1&error=%22`,
      `https://evil/cb?code=${code}&state=S1`,
      `javascript:x?code=${code}&state=S1`,
      `https://app/cb?state=S1#code=${code}&code=${code}`,
    ];
    for (const url of urls) {
      const e = fail(url, expected);
      expect(e.message, url).not.toContain(code);
      expect(JSON.stringify(e.toJSON()), url).not.toContain(code);
    }
  });
  it('nor the state value', () => {
    for (const url of ['https://app/cb?code=C&state=WRONG-STATE', 'https://app/cb?code=C&state=WRONG-STATE&state=S1']) {
      expect(fail(url).message).not.toContain('WRONG-STATE');
    }
  });
});

describe('checkCallback: bare query strings and fragments', () => {
  it('a bare fragment is read like a bare query; # separates the fragment in a bare string too', () => {
    expect(checkCallback('#code=C&state=S1', expectation)).toBe('C');
    expect(checkCallback('?state=S1#code=C', expectation)).toBe('C');
    expect(checkCallback('state=S1#code=C', expectation)).toBe('C');
    expect(fail('#state=S1&state=S1&code=C')).toMatchObject({ code: 'invalid_callback', field: 'callback.state' });
    expect(fail('?code=C&state=S1#code=D')).toMatchObject({ code: 'invalid_callback', field: 'callback.code' });
    expect(fail('state=S1&code=C#state=S1')).toMatchObject({ code: 'invalid_callback', field: 'callback.state' });
    expect(callbackState('#state=S1&state=S1')).toBeUndefined();
    expect(callbackState('#code=C&state=S1')).toBe('S1');
  });
  it('values are decoded as before (+, percent-escapes, non-ASCII)', () => {
    expect(checkCallback('code=a+b%2Fc%C3%A9&state=S1', expectation)).toBe('a b/cé');
    expect(checkCallback('?code=x%22y&state=S1', expectation)).toBe('x"y');
    expect(checkCallback('https://app/cb?code=a+b%2Fc&state=S1', expectation)).toBe('a b/c');
  });
});
