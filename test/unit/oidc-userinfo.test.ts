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
