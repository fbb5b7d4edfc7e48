import { describe, expect, it } from 'vitest';
import { parseRetryAfter, processTokenResponse } from '../../src/provider/token-response.js';
import { euRouter, genericOAuth2, openRouter, poe } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

const NOW = 1_000_000;
const generic = genericOAuth2({ tokenEndpoint: 'https://as.example/token' });
const respond = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers(headers),
  text: typeof body === 'string' ? body : JSON.stringify(body),
});
const error = thrown;

describe('processTokenResponse: normalisation', () => {
  it('standard access_token, expires_in, refresh_token, scope; id_token kept in extra for the generic provider', () => {
    const tokens = processTokenResponse(generic, respond(200, { access_token: 'at', token_type: 'Bearer', expires_in: 60, refresh_token: 'rt', scope: 'a b', id_token: 'idt', other: 1 }), NOW);
    expect(tokens).toEqual({ accessToken: 'at', tokenType: 'Bearer', expiresAt: NOW + 60_000, issuedAt: NOW, refreshToken: 'rt', scopes: ['a', 'b'], extra: { id_token: 'idt' } });
  });
  it('Poe: api_key with a lifetime, and with null (never expires)', () => {
    expect(processTokenResponse(poe, respond(200, { api_key: 'k', api_key_expires_in: 3600 }), NOW)).toEqual({ accessToken: 'k', tokenType: 'Bearer', expiresAt: NOW + 3_600_000, issuedAt: NOW, extra: {} });
    expect(processTokenResponse(poe, respond(200, { api_key: 'k', api_key_expires_in: null }), NOW)).toEqual({ accessToken: 'k', tokenType: 'Bearer', extra: {} });
  });
  it('OpenRouter key; EUrouter key + user_id', () => {
    expect(processTokenResponse(openRouter, respond(200, { key: 'sk-or' }), NOW).accessToken).toBe('sk-or');
    expect(processTokenResponse(euRouter, respond(200, { key: 'eur_1.x', user_id: 'u-1' }), NOW)).toEqual({ accessToken: 'eur_1.x', tokenType: 'Bearer', extra: { user_id: 'u-1' } });
  });
  it('a missing or empty credential is invalid_response naming the field', () => {
    expect(error(() => processTokenResponse(poe, respond(200, { access_token: 'x' }), NOW))).toMatchObject({ code: 'invalid_response', field: 'response.body.api_key', status: 200 });
    expect(error(() => processTokenResponse(generic, respond(200, { access_token: '' }), NOW)).message).toContain('"access_token"');
  });
  it('a bad lifetime, token_type, refresh_token or scope is invalid_response naming it', () => {
    expect(error(() => processTokenResponse(generic, respond(200, { access_token: 'a', expires_in: 'soon' }), NOW)).field).toBe('response.body.expires_in');
    expect(error(() => processTokenResponse(generic, respond(200, { access_token: 'a', expires_in: -1 }), NOW)).field).toBe('response.body.expires_in');
    expect(error(() => processTokenResponse(generic, respond(200, { access_token: 'a', token_type: 5 }), NOW)).field).toBe('response.body.token_type');
    expect(error(() => processTokenResponse(generic, respond(200, { access_token: 'a', refresh_token: 7 }), NOW)).field).toBe('response.body.refresh_token');
    expect(error(() => processTokenResponse(generic, respond(200, { access_token: 'a', scope: ['x'] }), NOW)).field).toBe('response.body.scope');
  });
  it('an HTML page or JSON that is not an object is invalid_response with the status, never a crash', () => {
    expect(error(() => processTokenResponse(generic, respond(200, '<html>hello</html>'), NOW))).toMatchObject({ code: 'invalid_response', status: 200, field: 'response.body' });
    expect(error(() => processTokenResponse(generic, respond(200, '[1,2]'), NOW))).toMatchObject({ code: 'invalid_response' });
    expect(error(() => processTokenResponse(generic, respond(200, ''), NOW))).toMatchObject({ code: 'invalid_response' });
  });
  it('a credential never appears in an error message', () => {
    const e = error(() => processTokenResponse(generic, respond(200, { access_token: 'secret-at', expires_in: 'x' }), NOW));
    expect(e.message).not.toContain('secret-at');
  });
});

describe('processTokenResponse: errors', () => {
  it('an OAuth error body gives its code and description; invalid_grant is not retryable', () => {
    expect(error(() => processTokenResponse(generic, respond(400, { error: 'invalid_grant', error_description: 'code used' }), NOW))).toMatchObject({
      code: 'invalid_grant',
      description: 'code used',
      status: 400,
      retryable: false,
    });
  });
  it('Poe server_error is retryable', () => {
    expect(error(() => processTokenResponse(poe, respond(500, { error: 'server_error' }), NOW))).toMatchObject({ code: 'server_error', retryable: true });
  });
  it('OpenRouter and EUrouter bare statuses map to their codes, with the message as description', () => {
    expect(error(() => processTokenResponse(openRouter, respond(403, { error: { code: 403, message: 'Invalid code or code_verifier' } }), NOW))).toMatchObject({
      code: 'invalid_grant',
      status: 403,
      description: 'Invalid code or code_verifier',
    });
    expect(error(() => processTokenResponse(euRouter, respond(400, { error: 'Invalid code_challenge_method' }), NOW))).toMatchObject({ code: 'invalid_request', description: 'Invalid code_challenge_method' });
    expect(error(() => processTokenResponse(euRouter, respond(405, 'Method Not Allowed'), NOW))).toMatchObject({ code: 'invalid_request', status: 405 });
  });
  it('5xx and 429 without an OAuth body are retryable invalid_response; Retry-After is read', () => {
    expect(error(() => processTokenResponse(generic, respond(502, '<html>bad gateway</html>'), NOW))).toMatchObject({ code: 'invalid_response', status: 502, retryable: true });
    expect(error(() => processTokenResponse(generic, respond(429, 'slow down', { 'retry-after': '3' }), NOW))).toMatchObject({ status: 429, retryable: true, retryAfterMs: 3000 });
    expect(error(() => processTokenResponse(generic, respond(404, 'nope'), NOW))).toMatchObject({ code: 'invalid_response', retryable: false });
  });
  it('Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('10', NOW)).toBe(10_000);
    expect(parseRetryAfter(new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });
  it('Retry-After: the three HTTP-date forms a recipient must accept (RFC 9110 §5.6.7), in UTC', () => {
    const at = Date.UTC(2026, 11, 1, 12, 0, 0);
    expect(parseRetryAfter('Tue, 01 Dec 2026 12:00:05 GMT', at)).toBe(5000);
    expect(parseRetryAfter('Tuesday, 01-Dec-26 12:00:07 GMT', at)).toBe(7000);
    // asctime has no zone: it is UTC, whatever the machine's time zone.
    expect(parseRetryAfter('Tue Dec  1 12:00:09 2026', at)).toBe(9000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 11:00:00 GMT', at)).toBe(0);
  });
  it('Retry-After that is neither delay-seconds nor an HTTP-date is no wait at all (not a wait of 0, which would say "repeat at once")', () => {
    const at = Date.UTC(2026, 11, 1, 12, 0, 0);
    for (const value of ['-5', '1.5', '1e3', '+5', '2026-12-01T12:00:05Z', 'Tue, 31 Feb 2026 12:00:05 GMT', 'Tue, 01 Dec 2026 25:00:05 GMT', 'Tue, 01 Dec 2026 12:00:05 UTC', 'Tue, 1 Dec 2026 12:00:05 GMT']) {
      expect(parseRetryAfter(value, at), value).toBeUndefined();
    }
    // A 503 with such a header carries no retryAfterMs: the retry rules treat it as a plain 503.
    expect(error(() => processTokenResponse(generic, respond(503, 'busy', { 'retry-after': '-5' }), NOW)).retryAfterMs).toBeUndefined();
  });
});

describe('processTokenResponse: expires_in bounds', () => {
  const withLifetime = (raw: string, provider = generic, now = NOW) =>
    processTokenResponse(provider, { status: 200, headers: new Headers(), text: `{"access_token":"a","api_key":"a","expires_in":${raw},"api_key_expires_in":${raw}}` }, now);
  const refused = (raw: string, provider = generic, name = 'expires_in') =>
    expect(error(() => withLifetime(raw, provider)), raw).toMatchObject({ code: 'invalid_response', status: 200, field: `response.body.${name}` });

  it.each([
    ['0', 0],
    ['3600', 3_600_000],
    ['"3600"', 3_600_000],
    ['"0"', 0],
    ['"0003600"', 3_600_000],
    ['315360000', 315_360_000_000],
    ['"315360000"', 315_360_000_000],
    ['1.5', 1500],
    ['0.0004', 0],
  ])('%s seconds is accepted: expiresAt is now + its milliseconds, a safe integer', (raw, ms) => {
    const { expiresAt } = withLifetime(raw);
    expect(expiresAt).toBe(NOW + ms);
    expect(Number.isSafeInteger(expiresAt)).toBe(true);
  });
  it.each(['-1', '-0.5', '315360001', '"315360001"', '1e306', '1e400', '-1e400', '"12abc"', '"1e3"', '"3600 "', '" 3600"', '"-1"', '"+1"', '"1.5"', '""', '"0x10"', '"NaN"', '"Infinity"', '"３６００"', '{}', '[]', '[3600]', 'true', 'false'])(
    '%s is invalid_response naming expires_in',
    (raw) => refused(raw),
  );
  it('the provider\'s own field name is the one checked and named (Poe: api_key_expires_in)', () => {
    refused('"soon"', poe, 'api_key_expires_in');
    refused('1e306', poe, 'api_key_expires_in');
    expect(withLifetime('"60"', poe).expiresAt).toBe(NOW + 60_000);
    expect(processTokenResponse(poe, respond(200, { api_key: 'k', api_key_expires_in: null }), NOW).expiresAt).toBeUndefined();
  });
  it('null is still "does not expire"', () => {
    expect(withLifetime('null')).not.toHaveProperty('expiresAt');
  });
  it('an expiry beyond the safe integers (a clock far in the future) is refused, never a lossy number', () => {
    expect(error(() => withLifetime('3600', generic, Number.MAX_SAFE_INTEGER - 10))).toMatchObject({ code: 'invalid_response', field: 'response.body.expires_in' });
  });
});

describe('tokenErrorFrom: bounded descriptions', () => {
  it('an OAuth error body\'s error_description over 1024 characters is cut with … in description and message', () => {
    const e = error(() => processTokenResponse(generic, respond(400, { error: 'invalid_grant', error_description: 'x'.repeat(10_000) }), NOW));
    expect(e.code).toBe('invalid_grant');
    expect(e.description).toHaveLength(1024);
    expect(e.description!.endsWith('…')).toBe(true);
    expect(e.message).toContain(e.description!);
    expect(e.message.length).toBeLessThan(1200);
    const exact = 'x'.repeat(1024);
    expect(error(() => processTokenResponse(generic, respond(400, { error: 'invalid_grant', error_description: exact }), NOW)).description).toBe(exact);
  });
  it('so is the message of a provider\'s documented status (OpenRouter 403)', () => {
    const e = error(() => processTokenResponse(openRouter, respond(403, { error: { code: 403, message: 'm'.repeat(5000) } }), NOW));
    expect(e).toMatchObject({ code: 'invalid_grant', status: 403 });
    expect(e.description).toHaveLength(1024);
    expect(e.message.length).toBeLessThan(1200);
  });
  it('a cut never leaves half a surrogate pair', () => {
    const e = error(() => processTokenResponse(generic, respond(400, { error: 'invalid_grant', error_description: `${'x'.repeat(1022)}😀😀` }), NOW));
    expect(e.description).toBe(`${'x'.repeat(1022)}…`);
  });
});

describe('requestSent on errors built from an answer', () => {
  it('an answer came back, so the request was sent: 5xx, 4xx, bad bodies', () => {
    expect(error(() => processTokenResponse(generic, respond(502, '<html>bad gateway</html>'), NOW))).toMatchObject({ requestSent: true, retryable: true });
    expect(error(() => processTokenResponse(poe, respond(500, { error: 'server_error' }), NOW))).toMatchObject({ requestSent: true });
    expect(error(() => processTokenResponse(openRouter, respond(403, { error: { message: 'no' } }), NOW))).toMatchObject({ requestSent: true });
    expect(error(() => processTokenResponse(generic, respond(200, 'nope'), NOW))).toMatchObject({ requestSent: true });
    expect(error(() => processTokenResponse(generic, respond(200, { access_token: 'a', expires_in: -1 }), NOW))).toMatchObject({ requestSent: true });
  });
});
