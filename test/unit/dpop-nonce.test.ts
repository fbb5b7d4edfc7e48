import { describe, expect, it } from 'vitest';
import { createDpopNonceStore, isDpopNonceError, parseWwwAuthenticate } from '../../src/dpop/index.js';

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
