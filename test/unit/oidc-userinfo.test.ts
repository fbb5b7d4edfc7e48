import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/errors.js';
import { buildUserInfoRequest, processUserInfoResponse } from '../../src/oidc/index.js';
import { parseWwwAuthenticate } from '../../src/provider/www-authenticate.js';

const URL_ = 'https://op.example/userinfo';
const TOKEN = 'at-Secret.Value_123';

const respond = (status: number, body: unknown, headers: Record<string, string> | Headers = {}) => ({
  status,
  headers: headers instanceof Headers ? headers : new Headers(headers),
  text: typeof body === 'string' ? body : JSON.stringify(body),
});
const challenge = (status: number, header: string | string[]) => {
  const headers = new Headers();
  for (const value of Array.isArray(header) ? header : [header]) headers.append('www-authenticate', value);
  return respond(status, '', headers);
};

function refusal(fn: () => unknown): OAuthError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    expect(JSON.stringify(error)).not.toContain(TOKEN);
    expect((error as Error).message).not.toContain(TOKEN);
    return error as OAuthError;
  }
  throw new Error('expected a refusal');
}

describe('buildUserInfoRequest', () => {
  it('a GET with Authorization: Bearer and Accept: application/json', () => {
    expect(buildUserInfoRequest({ url: URL_, accessToken: TOKEN, tokenType: 'Bearer' })).toEqual({
      url: URL_,
      method: 'GET',
      headers: { accept: 'application/json', authorization: `Bearer ${TOKEN}` },
    });
  });
  it('token type DPoP (any case) uses the DPoP scheme; anything else Bearer', () => {
    expect(buildUserInfoRequest({ url: URL_, accessToken: TOKEN, tokenType: 'DPoP' }).headers.authorization).toBe(`DPoP ${TOKEN}`);
    expect(buildUserInfoRequest({ url: URL_, accessToken: TOKEN, tokenType: 'dpop' }).headers.authorization).toBe(`DPoP ${TOKEN}`);
    expect(buildUserInfoRequest({ url: URL_, accessToken: TOKEN, tokenType: 'bearer' }).headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(buildUserInfoRequest({ url: URL_, accessToken: TOKEN, tokenType: 'mac' }).headers.authorization).toBe(`Bearer ${TOKEN}`);
  });
  it('extra headers are kept (lower-cased); authorization and accept cannot be replaced', () => {
    const { headers } = buildUserInfoRequest({ url: URL_, accessToken: TOKEN, tokenType: 'DPoP', headers: { DPoP: 'proof', Authorization: 'Basic x', Accept: 'application/jwt' } });
    expect(headers).toEqual({ dpop: 'proof', authorization: `DPoP ${TOKEN}`, accept: 'application/json' });
  });
  it('refuses a bad url, and an empty or header-splitting token without naming it', () => {
    expect(refusal(() => buildUserInfoRequest({ url: 'nope', accessToken: TOKEN, tokenType: 'Bearer' }))).toMatchObject({ code: 'invalid_configuration', field: 'url' });
    expect(refusal(() => buildUserInfoRequest({ url: URL_, accessToken: `${TOKEN}\r\nx: y`, tokenType: 'Bearer' }))).toMatchObject({ code: 'invalid_configuration', field: 'accessToken' });
    expect(refusal(() => buildUserInfoRequest({ url: URL_, accessToken: '', tokenType: 'Bearer' }))).toMatchObject({ field: 'accessToken' });
  });
});

describe('processUserInfoResponse: success', () => {
  it('200 with a JSON object: the claims', () => {
    const claims = processUserInfoResponse(respond(200, { sub: 'user-1', email: 'a@b.example' }, { 'content-type': 'application/json; charset=utf-8' }), {});
    expect(claims).toEqual({ sub: 'user-1', email: 'a@b.example' });
  });
  it('sub is required and a non-empty string', () => {
    expect(refusal(() => processUserInfoResponse(respond(200, { email: 'x' }), {}))).toMatchObject({ code: 'invalid_response', field: 'userinfo.sub', status: 200 });
    expect(refusal(() => processUserInfoResponse(respond(200, { sub: '' }), {}))).toMatchObject({ field: 'userinfo.sub' });
    expect(refusal(() => processUserInfoResponse(respond(200, { sub: 7 }), {}))).toMatchObject({ field: 'userinfo.sub' });
  });
  it('expectedSub (OIDC Core §5.3.2): equal passes, different is refused without naming either', () => {
    expect(processUserInfoResponse(respond(200, { sub: 'user-1' }), { expectedSub: 'user-1' }).sub).toBe('user-1');
    const error = refusal(() => processUserInfoResponse(respond(200, { sub: 'attacker-sub' }), { expectedSub: 'user-1' }));
    expect(error).toMatchObject({ code: 'invalid_response', field: 'userinfo.sub' });
    expect(error.message).not.toContain('attacker-sub');
  });
  it('application/jwt (signed userinfo) is refused as unsupported', () => {
    for (const type of ['application/jwt', 'Application/JWT; charset=utf-8']) {
      const error = refusal(() => processUserInfoResponse(respond(200, 'eyJ.eyJ.sig', { 'content-type': type }), {}));
      expect(error).toMatchObject({ code: 'invalid_response', field: 'userinfo' });
      expect(error.message).toMatch(/signed userinfo is not supported/);
    }
  });
  it('a body that is not JSON, or JSON that is not an object: invalid_response', () => {
    expect(refusal(() => processUserInfoResponse(respond(200, '<html>'), {}))).toMatchObject({ code: 'invalid_response', field: 'userinfo' });
    expect(refusal(() => processUserInfoResponse(respond(200, [{ sub: 'x' }]), {}))).toMatchObject({ field: 'userinfo' });
    expect(refusal(() => processUserInfoResponse(respond(200, 'null'), {}))).toMatchObject({ field: 'userinfo' });
  });
});

describe('processUserInfoResponse: errors', () => {
  it('401 with a Bearer challenge: its error code, description and the status', () => {
    const error = refusal(() => processUserInfoResponse(challenge(401, 'Bearer realm="example", error="invalid_token", error_description="The access token expired"'), {}));
    expect(error).toMatchObject({ code: 'invalid_token', serverCode: 'invalid_token', status: 401, description: 'The access token expired', retryable: false });
  });
  it('the DPoP scheme is read too; scheme and parameter names are case-insensitive; token values unquoted', () => {
    expect(refusal(() => processUserInfoResponse(challenge(401, 'DPoP algs="ES256 PS256", error="invalid_dpop_proof"'), {}))).toMatchObject({ code: 'invalid_dpop_proof', status: 401 });
    expect(refusal(() => processUserInfoResponse(challenge(403, 'bearer ERROR=insufficient_scope, scope="openid email"'), {}))).toMatchObject({ code: 'insufficient_scope', status: 403 });
  });
  it('a quoted description with commas and escapes is one value; a description with a forbidden character is dropped', () => {
    const error = refusal(() => processUserInfoResponse(challenge(401, 'Bearer error="invalid_token", error_description="expired, renew \\it", realm="r"'), {}));
    expect(error.description).toBe('expired, renew it');
    const quoted = refusal(() => processUserInfoResponse(challenge(401, 'Bearer error="invalid_token", error_description="say \\"hi\\""'), {}));
    expect(quoted).toMatchObject({ code: 'invalid_token', description: undefined });
  });
  it('the error is found in a later challenge, and across several header lines', () => {
    expect(refusal(() => processUserInfoResponse(challenge(401, 'Basic realm="x", Bearer realm="api", error="invalid_token"'), {}))).toMatchObject({ code: 'invalid_token' });
    expect(refusal(() => processUserInfoResponse(challenge(401, ['Basic realm="x"', 'DPoP error="use_dpop_nonce"']), {}))).toMatchObject({ code: 'use_dpop_nonce' });
  });
  it('an unknown code becomes unknown_error, keeping it in serverCode', () => {
    expect(refusal(() => processUserInfoResponse(challenge(401, 'Bearer error="token_revoked_by_admin"'), {}))).toMatchObject({ code: 'unknown_error', serverCode: 'token_revoked_by_admin', status: 401 });
  });
  it('no usable challenge (none, another scheme, no error param, malformed): invalid_response with the status', () => {
    for (const response of [
      respond(401, ''),
      challenge(401, 'Basic error="invalid_token"'),
      challenge(401, 'Bearer realm="example"'),
      challenge(401, 'Bearer error="invalid_token'),
      challenge(401, 'Bearer error="bad\u0001code"'),
    ]) {
      expect(refusal(() => processUserInfoResponse(response, {}))).toMatchObject({ code: 'invalid_response', status: 401, field: 'userinfo' });
    }
  });
  it('other non-2xx answers: invalid_response with the status, retryable for 5xx and 429', () => {
    expect(refusal(() => processUserInfoResponse(respond(500, 'oops'), {}))).toMatchObject({ code: 'invalid_response', status: 500, retryable: true });
    expect(refusal(() => processUserInfoResponse(respond(429, ''), {}))).toMatchObject({ status: 429, retryable: true });
    expect(refusal(() => processUserInfoResponse(respond(404, ''), {}))).toMatchObject({ status: 404, retryable: false });
    expect(refusal(() => processUserInfoResponse(respond(302, '', { location: 'https://evil.example' }), {}))).toMatchObject({ status: 302 });
  });
});

describe('parseWwwAuthenticate (RFC 9110 §11.6.1)', () => {
  it('parses the RFC 9110 example: two challenges, quoted-pairs unescaped', () => {
    const parsed = parseWwwAuthenticate('Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"');
    expect(parsed.map((c) => [c.scheme.toLowerCase(), { ...c.params }])).toEqual([
      ['newauth', { realm: 'apps', type: '1', title: 'Login to "apps"' }],
      ['basic', { realm: 'simple' }],
    ]);
  });
  it('token68, bare schemes, empty list elements, whitespace around "="', () => {
    const parsed = parseWwwAuthenticate('Basic YWxhZGRpbjpvcGVuc2VzYW1l==, , Negotiate, Bearer realm = "x" ,error= invalid_token');
    expect(parsed.map((c) => [c.scheme.toLowerCase(), c.token68, { ...c.params }])).toEqual([
      ['basic', 'YWxhZGRpbjpvcGVuc2VzYW1l==', {}],
      ['negotiate', undefined, {}],
      ['bearer', undefined, { realm: 'x', error: 'invalid_token' }],
    ]);
  });
  it('stops at a malformed challenge, keeping the ones before it; the first of a repeated param wins', () => {
    expect(parseWwwAuthenticate('Basic realm="a", Bearer error="x').map((c) => c.scheme.toLowerCase())).toEqual(['basic']);
    expect(parseWwwAuthenticate('Bearer error="a" junk').map((c) => c.scheme)).toEqual([]);
    expect(parseWwwAuthenticate('Bearer error="a", error="b"')[0]!.params.error).toBe('a');
  });
});

describe('buildUserInfoRequest: the edges', () => {
  it('the refusals name the field and what it must be', () => {
    expect(refusal(() => buildUserInfoRequest({ url: 'nope', accessToken: TOKEN, tokenType: 'Bearer' })).message).toBe('url must be a URL (the userinfo_endpoint)');
    expect(refusal(() => buildUserInfoRequest({ url: URL_, accessToken: '', tokenType: 'Bearer' })).message).toBe('accessToken must be a non-empty string without control characters');
  });
  it('a token that is not a string, or holds any control character (C0 or DEL), is refused', () => {
    for (const accessToken of [undefined, 42, `a\x00b`, `a\x1fb`, `a\x7fb`, `a\tb`, `\n`]) {
      expect(refusal(() => buildUserInfoRequest({ url: URL_, accessToken: accessToken as string, tokenType: 'Bearer' }))).toMatchObject({ code: 'invalid_configuration', field: 'accessToken' });
    }
  });
  it('visible ASCII, space included, is sent as it is', () => {
    const accessToken = ' !~A-z._~+/=';
    expect(buildUserInfoRequest({ url: URL_, accessToken, tokenType: 'Bearer' }).headers.authorization).toBe(`Bearer ${accessToken}`);
  });
  it('a token type that is not a string sends Bearer', () => {
    expect(buildUserInfoRequest({ url: URL_, accessToken: TOKEN, tokenType: undefined as unknown as string }).headers.authorization).toBe(`Bearer ${TOKEN}`);
  });
});

describe('processUserInfoResponse: status and content type', () => {
  it('any 2xx is read; 1xx and 3xx are not', () => {
    expect(processUserInfoResponse(respond(299, { sub: 'u' })).sub).toBe('u');
    expect(processUserInfoResponse(respond(200, { sub: 'u' })).sub).toBe('u');
    for (const status of [199, 300]) {
      expect(refusal(() => processUserInfoResponse(respond(status, { sub: 'u' })))).toMatchObject({
        code: 'invalid_response',
        status,
        field: 'userinfo',
        message: `userinfo endpoint answered HTTP ${status}`,
        requestSent: true,
        retryable: false,
      });
    }
  });
  it('retryable: 5xx and 429', () => {
    for (const [status, retryable] of [[500, true], [503, true], [429, true], [499, false], [428, false], [430, false]] as const) {
      expect(refusal(() => processUserInfoResponse(respond(status, '')))).toMatchObject({ status, retryable });
    }
  });
  it('the media type is read without parameters, whitespace or case', () => {
    for (const type of ['application/jwt ;charset=utf-8', ' application/jwt', 'APPLICATION/JWT']) {
      expect(refusal(() => processUserInfoResponse(respond(200, 'eyJ.eyJ.sig', { 'content-type': type })))).toMatchObject({
        field: 'userinfo',
        message: 'userinfo endpoint answered a signed or encrypted JWT (application/jwt): signed userinfo is not supported',
        requestSent: true,
        status: 200,
      });
    }
    // Not application/jwt: read as JSON.
    for (const type of ['application/json', 'application/jwt-like', 'text/plain; x=application/jwt']) {
      expect(processUserInfoResponse(respond(200, { sub: 'u' }, { 'content-type': type })).sub).toBe('u');
    }
  });
  it('the messages of a body that cannot be used', () => {
    expect(refusal(() => processUserInfoResponse(respond(200, '<html>'))).message).toBe('userinfo endpoint answered HTTP 200 with a body that is not JSON');
    for (const body of ['[]', 'null', '42', '"sub"', 'true']) {
      expect(refusal(() => processUserInfoResponse(respond(201, body)))).toMatchObject({
        field: 'userinfo',
        status: 201,
        message: 'userinfo endpoint answered HTTP 201 with JSON that is not an object',
      });
    }
    expect(refusal(() => processUserInfoResponse(respond(200, { sub: '' }))).message).toBe('userinfo endpoint "sub" must be a non-empty string');
    const mismatch = refusal(() => processUserInfoResponse(respond(200, { sub: 'a' }), { expectedSub: 'b' }));
    expect(mismatch).toMatchObject({ message: 'userinfo endpoint "sub" does not match the id_token\'s "sub"', requestSent: true, retryable: false, status: 200 });
  });
});

describe('processUserInfoResponse: the WWW-Authenticate edges', () => {
  it('the message: the code, the description when there is one, the status', () => {
    expect(refusal(() => processUserInfoResponse(challenge(401, 'Bearer error="invalid_token", error_description="expired"'))).message).toBe(
      'userinfo endpoint answered invalid_token: expired (HTTP 401)',
    );
    expect(refusal(() => processUserInfoResponse(challenge(401, 'Bearer error="invalid_token"'))).message).toBe('userinfo endpoint answered invalid_token (HTTP 401)');
    expect(refusal(() => processUserInfoResponse(challenge(401, 'Bearer error="invalid_token", error_description=""')))).toMatchObject({
      message: 'userinfo endpoint answered invalid_token (HTTP 401)',
      description: undefined,
    });
  });
  it('requestSent, and retryable for 5xx and 429 challenges', () => {
    expect(refusal(() => processUserInfoResponse(challenge(401, 'Bearer error="invalid_token"')))).toMatchObject({ requestSent: true, retryable: false });
    expect(refusal(() => processUserInfoResponse(challenge(503, 'Bearer error="temporarily_unavailable"')))).toMatchObject({ code: 'temporarily_unavailable', status: 503, retryable: true });
    expect(refusal(() => processUserInfoResponse(challenge(500, 'Bearer error="server_error"')))).toMatchObject({ retryable: true });
    expect(refusal(() => processUserInfoResponse(challenge(429, 'Bearer error="slow_down"')))).toMatchObject({ retryable: true });
  });
  it('the first Bearer or DPoP challenge that has an error wins, not the first one', () => {
    expect(refusal(() => processUserInfoResponse(challenge(401, 'Bearer realm="api", DPoP error="invalid_dpop_proof"')))).toMatchObject({ code: 'invalid_dpop_proof' });
    expect(refusal(() => processUserInfoResponse(challenge(401, 'DPoP algs="ES256", Bearer error="invalid_token", DPoP error="use_dpop_nonce"')))).toMatchObject({ code: 'invalid_token' });
  });
  it('a code of up to 256 characters is kept (as serverCode); a longer one is not a usable challenge', () => {
    const long = 'e'.repeat(256);
    expect(refusal(() => processUserInfoResponse(challenge(401, `Bearer error="${long}"`)))).toMatchObject({ code: 'unknown_error', serverCode: long });
    expect(refusal(() => processUserInfoResponse(challenge(401, `Bearer error="${long}e"`)))).toMatchObject({
      code: 'invalid_response',
      field: 'userinfo',
      message: 'userinfo endpoint answered HTTP 401',
      serverCode: undefined,
    });
  });
  it('a code with a character outside RFC 6750\'s set (", \\, controls, non-ASCII) is not a usable challenge; space and ! are in it', () => {
    for (const bad of ['a\\"b', 'a\\\\b', '\\"ab', 'ab\\\\', 'caf\u00e9', 'a\u007fb']) {
      expect(refusal(() => processUserInfoResponse(challenge(401, `Bearer error="${bad}"`)))).toMatchObject({ code: 'invalid_response', status: 401 });
    }
    expect(refusal(() => processUserInfoResponse(challenge(401, 'Bearer error="not valid!"')))).toMatchObject({ code: 'unknown_error', serverCode: 'not valid!' });
    expect(refusal(() => processUserInfoResponse(challenge(401, 'Bearer error=""')))).toMatchObject({ code: 'invalid_response', status: 401, field: 'userinfo' });
    expect(refusal(() => processUserInfoResponse(challenge(401, 'Bearer error="#[]~"')))).toMatchObject({ code: 'unknown_error', serverCode: '#[]~' });
  });
  it('a long description is capped; one with a backslash is dropped', () => {
    const long = refusal(() => processUserInfoResponse(challenge(401, `Bearer error="invalid_token", error_description="${'d'.repeat(2000)}"`)));
    expect(long.description).toBe(`${'d'.repeat(1023)}…`);
    const backslash = refusal(() => processUserInfoResponse(challenge(401, 'Bearer error="invalid_token", error_description="a\\\\b"')));
    expect(backslash).toMatchObject({ code: 'invalid_token', description: undefined, message: 'userinfo endpoint answered invalid_token (HTTP 401)' });
  });
});
