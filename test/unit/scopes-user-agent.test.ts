import { describe, expect, it } from 'vitest';
import { resolveScopes } from '../../src/provider/scopes.js';
import { checkUserAgent } from '../../src/provider/user-agent.js';
import { openRouter, pathOfExile, poe } from '../../src/providers/index.js';

describe('resolveScopes', () => {
  it('adds required scopes, defaults, and removes duplicates', () => {
    expect(resolveScopes(poe, 'authorization_code', undefined, false)).toEqual(['apikey:create']);
    expect(resolveScopes(poe, 'authorization_code', ['apikey:create'], false)).toEqual(['apikey:create']);
  });
  it('refuses forbidden and not-allowed scopes naming the index', () => {
    expect(() => resolveScopes(pathOfExile, 'authorization_code', ['account:profile', 'service:leagues'], false)).toThrow(expect.objectContaining({ code: 'invalid_scope', field: 'scopes.1' }));
    expect(() => resolveScopes(pathOfExile, 'client_credentials', ['account:profile'], true)).toThrow(expect.objectContaining({ code: 'invalid_scope', field: 'scopes.0' }));
    expect(() => resolveScopes(poe, 'authorization_code', ['openid'], false)).toThrow(expect.objectContaining({ code: 'invalid_scope' }));
    expect(() => resolveScopes(pathOfExile, 'authorization_code', ['two words'], false)).toThrow(expect.objectContaining({ code: 'invalid_scope' }));
  });
  it('scopes that are not an array are refused naming the field', () => {
    expect(() => resolveScopes(poe, 'authorization_code', 'apikey:create' as never, false)).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'scopes' }));
  });

  it('confidential-only grants refuse public clients; unsupported grants are refused', () => {
    expect(() => resolveScopes(pathOfExile, 'client_credentials', ['service:leagues'], false)).toThrow(expect.objectContaining({ code: 'invalid_configuration' }));
    expect(resolveScopes(pathOfExile, 'client_credentials', ['service:leagues'], true)).toEqual(['service:leagues']);
    expect(() => resolveScopes(openRouter, 'client_credentials', [], true)).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'provider.grants.client_credentials' }));
  });
});

describe('checkUserAgent', () => {
  const client = (userAgent?: string) => ({ clientId: 'tool', ...(userAgent === undefined ? {} : { userAgent }) });
  it('accepts the documented shape with this client id, optional info after it', () => {
    expect(() => checkUserAgent(pathOfExile, client('OAuth tool/1.0.0 (contact: me@example.com) StashTab/2'))).not.toThrow();
    expect(() => checkUserAgent(pathOfExile, client('OAuth tool/1.0.0 (contact: me@example.com)'))).not.toThrow();
  });
  it('refuses a missing, malformed or other-client User-Agent naming client.userAgent', () => {
    for (const ua of [undefined, 'tool/1.0', 'OAuth other/1.0 (contact: me@example.com)']) {
      expect(() => checkUserAgent(pathOfExile, client(ua))).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'client.userAgent' }));
    }
  });
  it('providers without a rule accept anything', () => {
    expect(() => checkUserAgent(poe, client())).not.toThrow();
  });
});
