import { describe, expect, it } from 'vitest';
import { createDpopNonceStore, dpopNonceOf, isDpopNonce, isDpopNonceError, parseWwwAuthenticate } from '../../src/dpop/index.js';

const headers = (init: Record<string, string> = {}) => new Headers(init);
const asError = (status: number, init: Record<string, string>, text = '') => ({ status, headers: headers(init), text });

describe('createDpopNonceStore', () => {
  it('keeps the latest DPoP-Nonce per origin: paths share one, other hosts, ports and schemes do not', () => {
    const nonces = createDpopNonceStore();
    expect(nonces.get('https://as.example/token')).toBeUndefined();
    nonces.remember('https://as.example/token', headers({ 'DPoP-Nonce': 'n1' }));
    expect(nonces.get('https://as.example/par?x=1')).toBe('n1');
    expect(nonces.get('https://rs.example/token')).toBeUndefined();
    expect(nonces.get('https://as.example:8443/token')).toBeUndefined();
    expect(nonces.get('http://as.example/token')).toBeUndefined();
    nonces.remember('https://AS.example:443/other', headers({ 'dpop-nonce': 'n2' }));
    expect(nonces.get('https://as.example/token')).toBe('n2');
  });

  it('a response without a nonce, or with an invalid one, keeps the one it had', () => {
    const nonces = createDpopNonceStore();
    nonces.remember('https://as.example/token', headers({ 'DPoP-Nonce': 'good' }));
    nonces.remember('https://as.example/token', headers());
    nonces.remember('https://as.example/token', headers({ 'DPoP-Nonce': 'has "quotes"' }));
    nonces.remember('not a url', headers({ 'DPoP-Nonce': 'x' }));
    expect(nonces.get('https://as.example/token')).toBe('good');
    expect(nonces.get('not a url')).toBeUndefined();
  });

  it('is bounded: past max origins the least recently used is forgotten', () => {
    const nonces = createDpopNonceStore({ max: 2 });
    nonces.remember('https://a.example/', headers({ 'DPoP-Nonce': 'a' }));
    nonces.remember('https://b.example/', headers({ 'DPoP-Nonce': 'b' }));
    expect(nonces.get('https://a.example/')).toBe('a'); // a is now the most recent
    nonces.remember('https://c.example/', headers({ 'DPoP-Nonce': 'c' }));
    expect(nonces.get('https://b.example/')).toBeUndefined();
    expect([nonces.get('https://a.example/'), nonces.get('https://c.example/')]).toEqual(['a', 'c']);
  });
});

describe('isDpopNonceError', () => {
  const body = JSON.stringify({ error: 'use_dpop_nonce', error_description: 'Authorization server requires nonce in DPoP proof' });

  it('authorization server (§8): 400 use_dpop_nonce with a DPoP-Nonce header', () => {
    expect(isDpopNonceError(asError(400, { 'DPoP-Nonce': 'eyJ7S_zG.eyJH0-Z.HX4w-7v' }, body))).toBe(true);
    expect(isDpopNonceError(asError(400, {}, body))).toBe(false); // nothing to retry with
    expect(isDpopNonceError(asError(400, { 'DPoP-Nonce': 'n' }, JSON.stringify({ error: 'invalid_dpop_proof' })))).toBe(false);
    expect(isDpopNonceError(asError(400, { 'DPoP-Nonce': 'n' }, 'use_dpop_nonce'))).toBe(false);
    expect(isDpopNonceError(asError(500, { 'DPoP-Nonce': 'n' }, body))).toBe(false);
    expect(isDpopNonceError(asError(401, { 'DPoP-Nonce': 'n' }, body))).toBe(false); // a 401 says it in WWW-Authenticate
  });

  it('resource server (§9): 401 with a DPoP challenge whose error is use_dpop_nonce, and a DPoP-Nonce header', () => {
    const rfc = 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"';
    expect(isDpopNonceError(asError(401, { 'WWW-Authenticate': rfc, 'DPoP-Nonce': 'eyJ7S_zG.eyJH0-Z.HX4w-7v' }))).toBe(true);
    expect(isDpopNonceError(asError(401, { 'WWW-Authenticate': rfc }))).toBe(false);
    expect(isDpopNonceError(asError(403, { 'WWW-Authenticate': rfc, 'DPoP-Nonce': 'n' }))).toBe(false);
    const challenge = (value: string) => isDpopNonceError(asError(401, { 'WWW-Authenticate': value, 'DPoP-Nonce': 'n' }));
    expect(challenge('Bearer realm="api", DPoP algs="ES256 PS256", error="use_dpop_nonce"')).toBe(true);
    expect(challenge('dpop ERROR=use_dpop_nonce')).toBe(true); // scheme and param names are case-insensitive
    expect(challenge('Bearer error="use_dpop_nonce"')).toBe(false); // another scheme's
    expect(challenge('DPoP error="invalid_token"')).toBe(false);
    // Inside a quoted string a comma and an escaped quote are data, not syntax.
    expect(challenge('DPoP error_description="try: error=\\"use_dpop_nonce\\", please", error="invalid_token"')).toBe(false);
    expect(challenge('Basic realm="error=\\"use_dpop_nonce\\"", DPoP error="invalid_token"')).toBe(false);
    expect(challenge('DPoP error_description="not error=use_dpop_nonce", error="invalid_token"')).toBe(false);
  });
});

describe('parseWwwAuthenticate', () => {
  it('reads several challenges, token68, quoted strings with escapes, and empty list elements', () => {
    expect(parseWwwAuthenticate('Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"')).toEqual([
      { scheme: 'Newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
      { scheme: 'Basic', params: { realm: 'simple' } },
    ]);
    expect(parseWwwAuthenticate('Negotiate abc+/=, , Bearer, DPoP algs="ES256"')).toEqual([
      { scheme: 'Negotiate', params: {}, token68: 'abc+/=' },
      { scheme: 'Bearer', params: {} },
      { scheme: 'DPoP', params: { algs: 'ES256' } },
    ]);
  });

  it('stops at a syntax error, keeping the challenges before it', () => {
    expect(parseWwwAuthenticate('Bearer realm="a", DPoP error="unterminated')).toEqual([{ scheme: 'Bearer', params: { realm: 'a' } }]);
    expect(parseWwwAuthenticate('DPoP error=use_dpop_nonce junk')).toEqual([]);
  });
});

// ---- Mutation-testing additions --------------------------------------------------------------

describe('isDpopNonce and dpopNonceOf', () => {
  it('1*NQCHAR, as a string of at most 1024 characters', () => {
    expect(isDpopNonce('eyJ7S_zG.eyJH0-Z.HX4w-7v')).toBe(true);
    expect(isDpopNonce('!#[]~')).toBe(true);
    expect(isDpopNonce('n'.repeat(1024))).toBe(true);
    expect(isDpopNonce('n'.repeat(1025))).toBe(false);
    for (const value of ['', 'a b', 'a"b', 'a\\b', ' ab', 'ab ', 'é']) expect(isDpopNonce(value), JSON.stringify(value)).toBe(false);
    for (const value of [12345, null, undefined, ['abc'], { toString: () => 'abc' }]) expect(isDpopNonce(value), String(value)).toBe(false);
  });

  it('dpopNonceOf trims what a Headers-like shape gives (fetch’s Headers trims already)', () => {
    expect(dpopNonceOf({ get: (name) => (name === 'dpop-nonce' ? '  abc\t' : null) })).toBe('abc');
    expect(dpopNonceOf({ get: () => null })).toBeUndefined();
    expect(dpopNonceOf({ get: () => 'a b' })).toBeUndefined();
  });
});

describe('createDpopNonceStore: URLs without an origin, and the bound', () => {
  it('a URL without an origin of its own (urn:, data:) keeps no nonce, and shares none', () => {
    const nonces = createDpopNonceStore();
    nonces.remember('urn:example:a', headers({ 'DPoP-Nonce': 'n-urn' }));
    nonces.remember('data:text/plain,x', headers({ 'DPoP-Nonce': 'n-data' }));
    expect(nonces.get('urn:example:a')).toBeUndefined();
    expect(nonces.get('urn:example:b')).toBeUndefined();
    expect(nonces.get('data:text/plain,y')).toBeUndefined();
  });

  it('a response for a URL that cannot be parsed takes no place in the bound', () => {
    const nonces = createDpopNonceStore({ max: 1 });
    nonces.remember('https://a.example/', headers({ 'DPoP-Nonce': 'a' }));
    nonces.remember('not a url', headers({ 'DPoP-Nonce': 'x' }));
    nonces.remember('urn:x', headers({ 'DPoP-Nonce': 'x' }));
    expect(nonces.get('https://a.example/')).toBe('a');
  });

  it('asking for an origin it has no nonce for takes no place in the bound either', () => {
    const nonces = createDpopNonceStore({ max: 2 });
    nonces.remember('https://a.example/', headers({ 'DPoP-Nonce': 'a' }));
    expect(nonces.get('https://unknown.example/')).toBeUndefined();
    expect(nonces.get('not a url')).toBeUndefined();
    nonces.remember('https://b.example/', headers({ 'DPoP-Nonce': 'b' }));
    expect([nonces.get('https://a.example/'), nonces.get('https://b.example/')]).toEqual(['a', 'b']);
  });

  it('max is at least 1; the default keeps 100 origins', () => {
    const one = createDpopNonceStore({ max: 0 });
    one.remember('https://a.example/', headers({ 'DPoP-Nonce': 'a' }));
    expect(one.get('https://a.example/')).toBe('a');
    one.remember('https://b.example/', headers({ 'DPoP-Nonce': 'b' }));
    expect([one.get('https://a.example/'), one.get('https://b.example/')]).toEqual([undefined, 'b']);
    const hundred = createDpopNonceStore();
    for (let i = 0; i <= 100; i++) hundred.remember(`https://h${i}.example/`, headers({ 'DPoP-Nonce': `n${i}` }));
    expect(hundred.get('https://h0.example/')).toBeUndefined();
    expect(hundred.get('https://h1.example/')).toBe('n1');
    expect(hundred.get('https://h100.example/')).toBe('n100');
  });
});

describe('isDpopNonceError: bodies that are no use_dpop_nonce object', () => {
  it('a 400 whose body is missing, null, a string or an array is not one', () => {
    const nonceHeader = { 'DPoP-Nonce': 'n' };
    expect(isDpopNonceError({ status: 400, headers: headers(nonceHeader) })).toBe(false);
    for (const text of ['null', '"use_dpop_nonce"', '["use_dpop_nonce"]', '{"error":["use_dpop_nonce"]}', '']) {
      expect(isDpopNonceError(asError(400, nonceHeader, text)), text).toBe(false);
    }
  });
});

describe('parseWwwAuthenticate: whitespace, commas and where parsing stops', () => {
  it('optional whitespace of any length around "=" and commas; several spaces after the scheme', () => {
    expect(parseWwwAuthenticate('DPoP  error  =  "use_dpop_nonce" ,\t  algs=ES256')).toEqual([{ scheme: 'DPoP', params: { error: 'use_dpop_nonce', algs: 'ES256' } }]);
    expect(parseWwwAuthenticate('Basic realm="a",    DPoP algs="ES256"')).toEqual([
      { scheme: 'Basic', params: { realm: 'a' } },
      { scheme: 'DPoP', params: { algs: 'ES256' } },
    ]);
  });

  it('empty list elements between a challenge’s params are skipped', () => {
    expect(parseWwwAuthenticate('DPoP a=1,, b=2 ,, , c="3"')).toEqual([{ scheme: 'DPoP', params: { a: '1', b: '2', c: '3' } }]);
  });

  it('only a space separates the scheme from its params: anything else stops', () => {
    expect(parseWwwAuthenticate('Basic\tabc')).toEqual([]);
    expect(parseWwwAuthenticate('Bearer=x')).toEqual([]);
    expect(parseWwwAuthenticate('Basic realm="a", Bearer"x"')).toEqual([{ scheme: 'Basic', params: { realm: 'a' } }]);
  });

  it('a challenge that does not start with a token stops parsing (not a TypeError)', () => {
    expect(parseWwwAuthenticate('"DPoP"')).toEqual([]);
    expect(parseWwwAuthenticate('Bearer realm="a", =x, DPoP')).toEqual([{ scheme: 'Bearer', params: { realm: 'a' } }]);
  });

  it('a trailing comma or trailing whitespace ends the list', () => {
    expect(parseWwwAuthenticate('DPoP algs=ES256,  ')).toEqual([{ scheme: 'DPoP', params: { algs: 'ES256' } }]);
    expect(parseWwwAuthenticate('Bearer   ')).toEqual([{ scheme: 'Bearer', params: {} }]);
    expect(parseWwwAuthenticate('')).toEqual([]);
  });
});
