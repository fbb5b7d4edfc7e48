import { describe, expect, it } from 'vitest';
import { dpopKeyKey, pendingFlowKey, refreshLockKey, tokensKey } from '../../src/grants/storage-keys.js';

describe('storage keys: namespaced by provider and client', () => {
  it('exact keys, the client id and the key URI-encoded', () => {
    expect(pendingFlowKey('as', 'my app', 'st-1')).toBe('grantflow:as:my%20app:flow:st-1');
    expect(tokensKey('as', 'my app')).toBe('grantflow:as:my%20app:tokens:default');
    expect(tokensKey('as', 'my app', 'user:1')).toBe('grantflow:as:my%20app:tokens:user%3A1');
    expect(tokensKey('as', 'app', undefined)).toBe('grantflow:as:app:tokens:default');
    expect(refreshLockKey('as', 'my app')).toBe('grantflow:as:my%20app:tokens:default:lock');
    expect(refreshLockKey('as', 'app', 'u/2')).toBe('grantflow:as:app:tokens:u%2F2:lock');
    expect(dpopKeyKey('as', 'a:b')).toBe('grantflow:as:a%3Ab:dpop-key');
  });

  it('a client id with the separator cannot reach another client’s keys', () => {
    expect(tokensKey('as', 'a:tokens:x')).not.toBe(tokensKey('as', 'a', 'x'));
    expect(pendingFlowKey('as', 'a:flow', 's')).not.toBe(pendingFlowKey('as', 'a', 'flow:s'));
  });
});
