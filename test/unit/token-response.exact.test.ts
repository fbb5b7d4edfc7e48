import { describe, expect, it } from 'vitest';
import { parseProvider } from '../../src/provider/parse.js';
import { capDescription, endpointErrorFrom, parseJsonObject, parseRetryAfter, processTokenResponse, tokenErrorFrom } from '../../src/provider/token-response.js';
import { genericOAuth2, openRouter, poe } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

/**
 * Written against the survivors of a mutation run over src/provider/token-response.ts: the exact
 * message and field of each refusal, status boundaries, scope splitting, extra fields, the three
 * kinds of error answer (documented status, OAuth body, neither) with their descriptions and
 * retryability, and Retry-After.
 */

const NOW = 1_000_000;
const generic = genericOAuth2({ id: 'as', tokenEndpoint: 'https://as.example/token' });
const respond = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers(headers),
  text: typeof body === 'string' ? body : JSON.stringify(body),
});
const error = thrown;
const ok = (body: unknown, provider = generic, status = 200) => processTokenResponse(provider, respond(status, body), NOW);
const refused = (body: unknown, provider = generic, status = 200) => error(() => ok(body, provider, status));
const withStatusErrors = (statusErrors: Record<string, string>, retryableErrors?: string[]) =>
  parseProvider({ ...generic, token: { ...generic.token, statusErrors, ...(retryableErrors === undefined ? {} : { retryableErrors }) } });

describe('processTokenResponse: success statuses', () => {
  it('any 2xx is a success, 299 included', () => {
    expect(ok({ access_token: 'at' }, generic, 299).accessToken).toBe('at');
    expect(ok({ access_token: 'at' }, generic, 201).accessToken).toBe('at');
  });
  it('a status below 200 or above 299 is an error even with a token in the body', () => {
    for (const status of [199, 300, 302]) {
      expect(refused({ access_token: 'at' }, generic, status)).toMatchObject({
        code: 'invalid_response',
        status,
        field: 'response.status',
        message: `token endpoint answered HTTP ${status} without an OAuth error body`,
      });
    }
  });
});

describe('processTokenResponse: each field, its message', () => {
  it('a missing credential "is missing"; an empty or non-string one "must be a non-empty string"', () => {
    expect(refused({ access_token: 'x' }, poe)).toMatchObject({ field: 'response.body.api_key', message: '"response" body "api_key" property is missing', status: 200, requestSent: true });
    expect(refused({ access_token: '' }).message).toBe('"response" body "access_token" property must be a non-empty string');
    expect(refused({ access_token: 5 }).message).toBe('"response" body "access_token" property must be a non-empty string');
    expect(refused({ access_token: null }).message).toBe('"response" body "access_token" property must be a non-empty string');
  });
  it('token_type: kept as sent; an empty or non-string one is refused', () => {
    expect(ok({ access_token: 'a', token_type: 'DPoP' }).tokenType).toBe('DPoP');
    expect(ok({ access_token: 'a' }).tokenType).toBe('Bearer');
    for (const tokenType of ['', 5]) {
      expect(refused({ access_token: 'a', token_type: tokenType })).toMatchObject({ field: 'response.body.token_type', message: '"response" body "token_type" property must be a string' });
    }
  });
  it('a bad lifetime says what a lifetime is', () => {
    expect(refused({ access_token: 'a', expires_in: 'soon' })).toMatchObject({
      code: 'invalid_response',
      field: 'response.body.expires_in',
      message: '"response" body "expires_in" property must be a non-negative number of seconds (at most 315360000), or null',
    });
  });
  it('a lifetime that overflows the clock says so', () => {
    expect(error(() => processTokenResponse(generic, respond(200, { access_token: 'a', expires_in: 3600 }), Number.MAX_SAFE_INTEGER - 10))).toMatchObject({
      field: 'response.body.expires_in',
      message: '"response" body "expires_in" property gives an expiry time out of range',
    });
  });
  it('issuedAt and expiresAt are whole milliseconds', () => {
    const tokens = processTokenResponse(generic, respond(200, { access_token: 'a', expires_in: 1 }), 1000.6);
    expect(tokens).toMatchObject({ issuedAt: 1001, expiresAt: 2001 });
  });
  it('no lifetime field, or a provider without one (OpenRouter), gives no expiry', () => {
    expect(ok({ access_token: 'a' })).not.toHaveProperty('expiresAt');
    expect(ok({ access_token: 'a' })).not.toHaveProperty('issuedAt');
    expect(ok({ key: 'k', expires_in: 60 }, openRouter)).not.toHaveProperty('expiresAt');
  });
  it('refresh_token: an empty or non-string one is refused', () => {
    for (const refreshToken of ['', 7, null]) {
      expect(refused({ access_token: 'a', refresh_token: refreshToken })).toMatchObject({
        field: 'response.body.refresh_token',
        message: '"response" body "refresh_token" property must be a non-empty string',
      });
    }
  });
  it('scope: split on spaces (and commas), no empty scopes; a non-string is refused', () => {
    expect(ok({ access_token: 'a', scope: ' a  b,c , d ' }).scopes).toEqual(['a', 'b', 'c', 'd']);
    expect(ok({ access_token: 'a', scope: '' }).scopes).toEqual([]);
    expect(ok({ access_token: 'a' })).not.toHaveProperty('scopes');
    expect(refused({ access_token: 'a', scope: 5 })).toMatchObject({ field: 'response.body.scope', message: '"response" body "scope" property must be a string' });
  });
  it('extra keeps only the provider\'s fields that are present (null is present)', () => {
    const tokens = ok({ access_token: 'a', other: 1 });
    expect(Object.keys(tokens.extra)).toEqual([]);
    expect(ok({ access_token: 'a', id_token: null }).extra).toStrictEqual({ id_token: null });
  });
  it('the whole TokenSet, strictly: no undefined fields', () => {
    expect(ok({ access_token: 'a', token_type: 'Bearer', expires_in: 10, refresh_token: 'r', scope: 'x' })).toStrictEqual({
      accessToken: 'a',
      tokenType: 'Bearer',
      expiresAt: NOW + 10_000,
      issuedAt: NOW,
      refreshToken: 'r',
      scopes: ['x'],
      extra: {},
    });
  });
});

describe('parseJsonObject', () => {
  it('a body that is not JSON, and JSON that is not an object (null too), each say so', () => {
    expect(error(() => parseJsonObject(respond(200, 'not json')))).toMatchObject({
      code: 'invalid_response',
      status: 200,
      field: 'response.body',
      requestSent: true,
      message: 'token endpoint answered HTTP 200 with a body that is not JSON',
    });
    for (const text of ['null', '[1]', '"str"', '5']) {
      expect(error(() => parseJsonObject(respond(201, text)))).toMatchObject({
        code: 'invalid_response',
        status: 201,
        field: 'response.body',
        requestSent: true,
        message: 'token endpoint answered HTTP 201 with JSON that is not an object',
      });
    }
    expect(refused('null')).toMatchObject({ field: 'response.body', message: 'token endpoint answered HTTP 200 with JSON that is not an object' });
  });
});

describe('tokenErrorFrom: an OAuth error body (RFC 6749 §5.2)', () => {
  it('the message has the code, the description and the status; without a description, no colon', () => {
    expect(refused({ error: 'invalid_grant', error_description: 'code used' }, generic, 400)).toMatchObject({
      code: 'invalid_grant',
      serverCode: 'invalid_grant',
      description: 'code used',
      status: 400,
      requestSent: true,
      message: 'token endpoint answered invalid_grant: code used (HTTP 400)',
    });
    const bare = refused({ error: 'invalid_grant' }, generic, 400);
    expect(bare.message).toBe('token endpoint answered invalid_grant (HTTP 400)');
    expect(bare.description).toBeUndefined();
    expect(bare.cause).toEqual({ error: 'invalid_grant' });
  });
  it('a description that is not a string is left out', () => {
    const e = refused({ error: 'invalid_grant', error_description: { text: 'x' } }, generic, 400);
    expect(e.description).toBeUndefined();
    expect(e.message).toBe('token endpoint answered invalid_grant (HTTP 400)');
  });
  it('retryable: a transient status, or a code the provider says is safe to retry', () => {
    expect(refused({ error: 'server_error' }, generic, 400).retryable).toBe(true);
    expect(refused({ error: 'temporarily_unavailable' }, generic, 400).retryable).toBe(true);
    expect(refused({ error: 'invalid_request' }, generic, 503).retryable).toBe(true);
    expect(refused({ error: 'invalid_request' }, generic, 429).retryable).toBe(true);
    expect(refused({ error: 'invalid_request' }, generic, 400).retryable).toBe(false);
    expect(refused({ error: 'temporarily_unavailable' }, poe, 400).retryable).toBe(false);
  });
  it('an error code up to 256 characters; a longer one, one with a quote, backslash or newline, or a non-string is no OAuth body', () => {
    expect(refused({ error: 'e'.repeat(256) }, generic, 400)).toMatchObject({ code: 'unknown_error', serverCode: 'e'.repeat(256) });
    for (const bad of ['e'.repeat(257), 'a"b', 'a\\b', 'a\nb', 'ab\n', '\nab', '', ['invalid_grant'], 5]) {
      expect(refused({ error: bad }, generic, 400), JSON.stringify(bad)).toMatchObject({
        code: 'invalid_response',
        field: 'response.status',
        message: 'token endpoint answered HTTP 400 without an OAuth error body',
      });
    }
  });
});

describe('tokenErrorFrom: neither an OAuth body nor a documented status', () => {
  it('5xx and 429 are retryable, 4xx are not', () => {
    expect(refused('<html>', generic, 500)).toMatchObject({ code: 'invalid_response', status: 500, retryable: true, requestSent: true });
    expect(refused('<html>', generic, 599).retryable).toBe(true);
    expect(refused('', generic, 429).retryable).toBe(true);
    expect(refused('', generic, 499).retryable).toBe(false);
    expect(refused('', generic, 428).retryable).toBe(false);
  });
});

describe('tokenErrorFrom: a documented status without an OAuth body (OpenRouter, EUrouter)', () => {
  it('the description is the body\'s message: error.message, then message, then error_description, then error', () => {
    const p = withStatusErrors({ '403': 'invalid_grant' });
    const description = (body: unknown) => refused(body, p, 403).description;
    expect(description({ error: { message: 'm1' }, message: 'm2', error_description: 'm3' })).toBe('m1');
    expect(description({ error: { code: 1 }, message: 'm2', error_description: 'm3' })).toBe('m2');
    expect(description({ error: 'e4', message: 'm2', error_description: 'm3' })).toBe('m2');
    expect(description({ error: 'e4', error_description: 'm3' })).toBe('m3');
    expect(description({ error: 'e4', message: 5, error_description: 6 })).toBe('e4');
  });
  it('without a message, the body\'s text, trimmed and cut at 200 characters; none for an empty body', () => {
    const p = withStatusErrors({ '405': 'invalid_request' });
    expect(refused('  Method Not Allowed \n', p, 405)).toMatchObject({ code: 'invalid_request', status: 405, description: 'Method Not Allowed', message: 'token endpoint answered HTTP 405: Method Not Allowed' });
    expect(refused({ error: 5 }, p, 405).description).toBe('{"error":5}');
    expect(refused({ error: { code: 405 } }, p, 405).description).toBe('{"error":{"code":405}}');
    expect(refused(`  ${'t'.repeat(300)}`, p, 405).description).toBe('t'.repeat(200));
    const empty = refused('   ', p, 405);
    expect(empty.description).toBeUndefined();
    expect(empty.message).toBe('token endpoint answered HTTP 405');
    expect(refused('', p, 405).message).toBe('token endpoint answered HTTP 405');
  });
  it('the message includes the description; the cause is the parsed body', () => {
    const e = refused({ error: { message: 'Invalid code' } }, openRouter, 403);
    expect(e.message).toBe('token endpoint answered HTTP 403: Invalid code');
    expect(e.cause).toEqual({ error: { message: 'Invalid code' } });
    expect(e.requestSent).toBe(true);
  });
  it('retryable: a transient status, or a mapped code that is safe to retry', () => {
    expect(refused('', withStatusErrors({ '503': 'temporarily_unavailable' }, []), 503).retryable).toBe(true);
    expect(refused('', withStatusErrors({ '400': 'server_error' }), 400).retryable).toBe(true);
    expect(refused('', withStatusErrors({ '400': 'server_error' }, []), 400).retryable).toBe(false);
    expect(refused('', withStatusErrors({ '403': 'invalid_grant' }), 403).retryable).toBe(false);
  });
});

describe('endpointErrorFrom', () => {
  it('names the endpoint and ignores the token endpoint\'s statusErrors', () => {
    const e = endpointErrorFrom(openRouter, respond(403, { error: { message: 'no' } }), NOW, 'revocation endpoint');
    expect(e).toMatchObject({ code: 'invalid_response', status: 403, field: 'response.status', message: 'revocation endpoint answered HTTP 403 without an OAuth error body' });
    const oauth = endpointErrorFrom(generic, respond(400, { error: 'invalid_client', error_description: 'who' }, { 'retry-after': '2' }), NOW, 'device authorization endpoint');
    expect(oauth).toMatchObject({ code: 'invalid_client', description: 'who', status: 400, retryAfterMs: 2000, serverCode: 'invalid_client', message: 'device authorization endpoint answered invalid_client: who (HTTP 400)' });
    expect(tokenErrorFrom(openRouter, respond(403, { error: { message: 'no' } }), NOW).code).toBe('invalid_grant');
  });
});

describe('capDescription', () => {
  it('1024 characters pass; 1025 are cut to 1023 and …', () => {
    expect(capDescription('d'.repeat(1024))).toBe('d'.repeat(1024));
    expect(capDescription('d'.repeat(1025))).toBe(`${'d'.repeat(1023)}…`);
  });
  it('only a high surrogate at the very end of the cut is dropped', () => {
    const early = `😀${'x'.repeat(2000)}`;
    expect(capDescription(early)).toBe(`😀${'x'.repeat(1021)}…`);
    expect(capDescription(early)).toHaveLength(1024);
  });
});

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  it('delay-seconds, with spaces around', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('  7 ', NOW)).toBe(7000);
  });
  it('an HTTP-date: the time left, never negative', () => {
    expect(parseRetryAfter(new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000);
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
  });
  it('text that is neither is undefined', () => {
    for (const value of ['a5', '5s', '12abc', 'soon', '']) expect(parseRetryAfter(value, NOW), value).toBeUndefined();
  });
  it('is read into the error\'s retryAfterMs; absent without the header', () => {
    expect(refused('', generic, 503).retryAfterMs).toBeUndefined();
    expect(error(() => processTokenResponse(generic, respond(503, '', { 'retry-after': '4' }), NOW)).retryAfterMs).toBe(4000);
  });
});
