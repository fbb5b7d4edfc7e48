import { describe, expect, it } from 'vitest';
import { prepareAuthorization, type AuthorizationCodeContext } from '../../src/grants/authorization-code.js';
import { decodePendingFlow, encodePendingFlow } from '../../src/grants/pending-flow.js';
import { flowFingerprint, providerFingerprint } from '../../src/provider/fingerprint.js';
import { euRouter, genericOAuth2 } from '../../src/providers/index.js';
import { revealSecret } from '../../src/secret.js';
import { resolveServices } from '../../src/services/defaults.js';
import { createOAuthClient, memoryStorage, OAuthError } from '../../src/index.js';
import { pendingFlowKey } from '../../src/grants/storage-keys.js';

const provider = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/token' });
const client = { clientId: 'app', redirectUri: 'https://app.example/cb' };
const services = resolveServices({ clock: { now: () => 1_000 } });

async function started(overrides: Partial<AuthorizationCodeContext['input']> = {}, p = provider) {
  const input = { provider: p, client, scopes: ['a'], key: 'user-1', extraParams: { prompt: 'consent' }, flowId: 'flow-1', ...overrides };
  const { flow } = await prepareAuthorization(services, {}, input);
  return { input, flow, attempt: 0 } as AuthorizationCodeContext;
}

const errorOf = (fn: () => unknown): OAuthError => {
  try {
    fn();
  } catch (error) {
    return error as OAuthError;
  }
  throw new Error('did not throw');
};

describe('the pending-flow record', () => {
  it('holds what completing needs, and no provider data', async () => {
    const context = await started();
    const record = encodePendingFlow(context);
    expect(record).toEqual({
      version: 2,
      flowId: 'flow-1',
      fingerprint: flowFingerprint(provider, 'app', 'https://app.example/cb'),
      scopes: ['a'],
      key: 'user-1',
      codeVerifier: revealSecret(context.flow!.codeVerifier!),
      pkceMethod: 'S256',
      extraParams: { prompt: 'consent' },
      createdAt: 1_000,
    });
    expect(JSON.stringify(record)).not.toContain('https://as.example/token');
    expect(JSON.stringify(record).length).toBeLessThan(250);
    expect(JSON.stringify(record)).not.toContain(context.flow!.state); // it is in the storage key
  });

  it('round-trips into the awaitingCallback context, rebuilt from the client’s own provider', async () => {
    const context = await started();
    const raw = JSON.stringify(encodePendingFlow(context));
    const back = decodePendingFlow(raw, { provider, client, state: context.flow!.state });
    expect(back.flow!.provider).toBe(provider);
    expect(back.input.provider).toBe(provider);
    expect(revealSecret(back.flow!.codeVerifier!)).toBe(revealSecret(context.flow!.codeVerifier!));
    expect({ ...back.flow, codeVerifier: undefined }).toEqual({ ...context.flow, codeVerifier: undefined });
    expect(back.input).toEqual({ provider, client, scopes: ['a'], key: 'user-1', extraParams: { prompt: 'consent' }, flowId: 'flow-1', pkceMethod: 'S256' });
    expect(back.state).toBe(context.flow!.state);
  });

  it('a minimal record (no key, no PKCE, no extra params) round-trips too', async () => {
    const noPkce = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/token', pkce: { support: 'unsupported' } });
    const { input, flow } = await started({}, noPkce);
    const context = { input: { provider: noPkce, client, flowId: 'f' }, flow, attempt: 0 } as AuthorizationCodeContext;
    const record = encodePendingFlow(context);
    expect(record).not.toHaveProperty('codeVerifier');
    expect(record).not.toHaveProperty('key');
    expect(record).not.toHaveProperty('extraParams');
    const back = decodePendingFlow(JSON.stringify(record), { provider: noPkce, client, state: flow!.state });
    expect(back.flow!.codeVerifier).toBeUndefined();
    expect(back.input).toEqual({ provider: noPkce, client, scopes: ['a'], flowId: 'flow-1' });
    void input;
  });

  it('corrupt data is storage_error naming the field, never a TypeError', async () => {
    const context = await started();
    const state = context.flow!.state;
    const good = encodePendingFlow(context) as unknown as Record<string, unknown>;
    const cases: Array<[unknown, string]> = [
      ['not json', 'storage.pendingFlow'],
      [JSON.stringify('str'), 'storage.pendingFlow'],
      [JSON.stringify([]), 'storage.pendingFlow'],
      [JSON.stringify(null), 'storage.pendingFlow'],
      [JSON.stringify({ ...good, version: 1 }), 'storage.pendingFlow.version'],
      [JSON.stringify({ ...good, codeVerifier: 42 }), 'storage.pendingFlow.codeVerifier'],
      [JSON.stringify({ ...good, createdAt: 'yesterday' }), 'storage.pendingFlow.createdAt'],
      [JSON.stringify({ ...good, scopes: 'a' }), 'storage.pendingFlow.scopes'],
      [JSON.stringify({ ...good, provider: { token: { url: 'https://evil.example/token' } } }), 'storage.pendingFlow'],
      [JSON.stringify({ ...good, state: 'another' }), 'storage.pendingFlow'],
      [JSON.stringify({ ...good, redirectUri: 'https://evil.example/cb' }), 'storage.pendingFlow'],
      [JSON.stringify({ ...good, fingerprint: 7 }), 'storage.pendingFlow.fingerprint'],
    ];
    for (const [raw, field] of cases) {
      const error = errorOf(() => decodePendingFlow(raw as string, { provider, client, state }));
      expect(error, String(raw)).toBeInstanceOf(OAuthError);
      expect(error.code, String(raw)).toBe('storage_error');
      expect(error.field, String(raw)).toBe(field);
    }
  });

  it('a record made under other provider data, or with another redirect URI, is flow_not_found', async () => {
    const context = await started();
    const state = context.flow!.state;
    const raw = JSON.stringify(encodePendingFlow(context));
    const changed = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/v2/token' });
    expect(errorOf(() => decodePendingFlow(raw, { provider: changed, client, state }))).toMatchObject({ code: 'flow_not_found', field: 'callback.state' });
    expect(errorOf(() => decodePendingFlow(raw, { provider, client: { ...client, redirectUri: 'https://app.example/other' }, state }))).toMatchObject({ code: 'flow_not_found' });
    expect(errorOf(() => decodePendingFlow(raw, { provider, client: { clientId: 'app' }, state }))).toMatchObject({ code: 'flow_not_found' });
    expect(errorOf(() => decodePendingFlow(raw, { provider, client: { ...client, clientId: 'other-app' }, state }))).toMatchObject({ code: 'flow_not_found' });
  });

  it('a provider that requires PKCE refuses a record without a verifier', async () => {
    const context = await started({}, euRouter);
    const record = { ...encodePendingFlow(context), codeVerifier: undefined };
    const eclient = client;
    expect(errorOf(() => decodePendingFlow(JSON.stringify(record), { provider: euRouter, client: eclient, state: context.flow!.state }))).toMatchObject({
      code: 'storage_error',
      field: 'storage.pendingFlow.codeVerifier',
    });
  });

  it('the fingerprint changes with any field of the provider, not with key order', () => {
    const reverse = (value: unknown): unknown =>
      Array.isArray(value) ? value.map(reverse) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverse(v)])) : value;
    const reordered = reverse(provider) as typeof provider;
    expect(Object.keys(reordered)[0]).toBe(Object.keys(provider).at(-1));
    expect(providerFingerprint({ ...provider })).toBe(providerFingerprint(provider));
    expect(providerFingerprint(reordered)).toBe(providerFingerprint(provider));
    expect(providerFingerprint({ ...provider, token: { ...provider.token, url: 'https://as.example/t' } })).not.toBe(providerFingerprint(provider));
    expect(providerFingerprint({ ...provider, name: 'x' })).not.toBe(providerFingerprint(provider));
    expect(providerFingerprint(provider)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('the fingerprint is stable across versions (it is stored in every pending record): array order counts, undefined fields do not', () => {
    const fp = (value: unknown) => providerFingerprint(value as typeof provider);
    // Known answers: a change of the algorithm would refuse every flow pending during an upgrade.
    expect(fp({ b: 1, a: [1, 'x', { d: null, c: true }] })).toBe('5a758f1491becfeb');
    expect(fp({})).toBe('5465b8257bc077fb');
    expect(fp({ a: 'é' })).toBe('02eaea9bebc69546');
    expect(fp({ a: [1, 2] })).not.toBe(fp({ a: [2, 1] }));
    expect(fp({ a: 1, b: undefined })).toBe(fp({ a: 1 }));
    expect(fp({ a: { y: 1, x: 2 } })).toBe(fp({ a: { x: 2, y: 1 } }));
  });
});

describe('completeAuthorization never trusts the stored record', () => {
  it('a tampered record (token endpoint, junk) is refused with an OAuthError, nothing is sent', async () => {
    const storage = memoryStorage();
    const sent: string[] = [];
    const app = createOAuthClient({ provider, clientId: 'app', redirectUri: client.redirectUri, storage, http: async (input) => (sent.push(String(input)), new Response('{}')) });
    const { state } = await app.startAuthorization();
    const key = pendingFlowKey('as', 'app', state);
    const stored = JSON.parse((await storage.get(key))!);
    for (const junk of ['"str"', '[]', '{', JSON.stringify({ ...stored, provider: { token: { url: 'https://evil.example' } } })]) {
      await storage.set(key, junk);
      await expect(app.completeAuthorization(`${client.redirectUri}?code=c&state=${state}`)).rejects.toMatchObject({ code: 'storage_error' });
    }
    expect(sent).toEqual([]);
  });
});
