import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { isOAuthError, isOAuthErrorCode, OAuthError, toOAuthError, type OAuthErrorCode } from '../../src/errors.js';

describe('OAuthError codes are a closed set', () => {
  it('a known code is kept; a server code outside the set is unknown_error with serverCode', () => {
    expect(new OAuthError('invalid_grant', 'm')).toMatchObject({ code: 'invalid_grant', serverCode: undefined });
    expect(new OAuthError('slow_down', 'm').code).toBe('slow_down');
    const odd = new OAuthError('vendor_specific_thing', 'm', { status: 400 });
    expect(odd).toMatchObject({ code: 'unknown_error', serverCode: 'vendor_specific_thing', status: 400 });
    expect(OAuthError.fromJSON(odd.toJSON())).toMatchObject({ code: 'unknown_error', serverCode: 'vendor_specific_thing' });
    expect(isOAuthErrorCode('access_denied')).toBe(true);
    expect(isOAuthErrorCode('acess_denied')).toBe(false);
  });

  it('the type refuses a misspelt code', () => {
    const error = new OAuthError('access_denied', 'm');
    expectTypeOf(error.code).toEqualTypeOf<OAuthErrorCode>();
    // @ts-expect-error: not a code
    expect(error.code === 'acess_denied').toBe(false);
  });

  it('isOAuthError knows an OAuthError of another copy of grantflow (a second class, as an ESM and a CJS copy have)', async () => {
    vi.resetModules(); // the next import is a second copy of the module, with its own class
    const other = await import('../../src/errors.js');
    const foreign = new other.OAuthError('invalid_grant', 'from the other copy');
    expect(foreign).not.toBeInstanceOf(OAuthError);
    expect(isOAuthError(foreign)).toBe(true);
    expect(toOAuthError(foreign)).toBe(foreign);
    expect(isOAuthError(new Error('x'))).toBe(false);
    expect(isOAuthError({ code: 'invalid_grant', name: 'OAuthError' })).toBe(false);
  });
});
