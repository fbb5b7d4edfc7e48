import { describe, expect, it } from 'vitest';
import { prepareAuthorization, type AuthorizationCodeContext } from '../../src/grants/authorization-code.js';
import { decodePendingFlow, encodePendingFlow, type PendingFlowRecord } from '../../src/grants/pending-flow.js';
import { redirectUriToSend } from '../../src/provider/authorization-url.js';
import { flowFingerprint } from '../../src/provider/fingerprint.js';
import { parseProvider } from '../../src/provider/parse.js';
import { euRouter, genericOAuth2 } from '../../src/providers/index.js';
import { revealSecret } from '../../src/secret.js';
import { resolveServices } from '../../src/services/defaults.js';
import { thrown } from '../support/oauth-error.js';

const oidc = genericOAuth2({
  id: 'op',
  issuer: 'https://op.example',
  jwksUri: 'https://op.example/jwks',
  authorizationEndpoint: 'https://op.example/authorize',
  tokenEndpoint: 'https://op.example/token',
});
const plainAs = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/token' });
const client = { clientId: 'app', redirectUri: 'https://app.example/cb' };
let n = 0;
const services = resolveServices({ clock: { now: () => 2_000 }, random: (size) => new Uint8Array(size).fill(++n % 250) });

async function started(input: Partial<AuthorizationCodeContext['input']>, provider = oidc): Promise<AuthorizationCodeContext> {
  const full = { provider, client, flowId: 'flow-9', ...input };
  const { flow } = await prepareAuthorization(services, {}, full);
  return { input: full, flow, attempt: 0 };
}


const decode = (record: unknown, provider = oidc, state = 'st', c: typeof client | { clientId: string; redirectUri?: string } = client) =>
  decodePendingFlow(JSON.stringify(record), { provider, client: c as typeof client, state });

/** A hand-made valid record for `provider` and state `st`. */
const recordFor = (provider = oidc, extra: Partial<PendingFlowRecord> = {}): PendingFlowRecord => ({
  version: 2,
  flowId: 'f',
  fingerprint: flowFingerprint(provider, 'app', redirectUriToSend(provider, client.redirectUri, 'st')),
  scopes: ['x'],
  createdAt: 5,
  ...extra,
});

describe('encodePendingFlow: the nonce and the resource', () => {
  it('an OpenID sign-in with resources keeps its nonce (revealed) and resources', async () => {
    const context = await started({ scopes: ['openid'], resource: ['https://api.example/a', 'https://api.example/b'] });
    const record = encodePendingFlow(context);
    expect(record).toEqual({
      version: 2,
      flowId: 'flow-9',
      fingerprint: flowFingerprint(oidc, 'app', 'https://app.example/cb'),
      scopes: ['openid'],
      codeVerifier: revealSecret(context.flow!.codeVerifier!),
      pkceMethod: 'S256',
      nonce: revealSecret(context.flow!.nonce!),
      resource: ['https://api.example/a', 'https://api.example/b'],
      createdAt: 2_000,
    });
    expect(typeof record.nonce).toBe('string');
    expect(record.nonce!.length).toBeGreaterThan(0);
  });

  it('without openid and resources: neither is in the record', async () => {
    const record = encodePendingFlow(await started({ scopes: ['x'] }));
    expect(Object.keys(record).sort()).toEqual(['codeVerifier', 'createdAt', 'fingerprint', 'flowId', 'pkceMethod', 'scopes', 'version']);
  });

  it('without PKCE: no verifier and no method in the record', async () => {
    const noPkce = genericOAuth2({ id: 'np', authorizationEndpoint: 'https://np.example/authorize', tokenEndpoint: 'https://np.example/token', pkce: { support: 'unsupported' } });
    const record = encodePendingFlow(await started({ scopes: ['x'] }, noPkce));
    expect(Object.keys(record).sort()).toEqual(['createdAt', 'fingerprint', 'flowId', 'scopes', 'version']);
  });

  it('round-trips: nonce, resource, pkceMethod, key and extra params into input and flow', async () => {
    const context = await started({ scopes: ['openid', 'x'], key: 'k', extraParams: { prompt: 'login' }, resource: 'https://api.example/a' });
    const back = decodePendingFlow(JSON.stringify(encodePendingFlow(context)), { provider: oidc, client, state: context.flow!.state });
    expect(revealSecret(back.flow!.nonce!)).toBe(revealSecret(context.flow!.nonce!));
    expect(revealSecret(back.flow!.codeVerifier!)).toBe(revealSecret(context.flow!.codeVerifier!));
    expect({ ...back.flow, nonce: undefined, codeVerifier: undefined }).toEqual({ ...context.flow, nonce: undefined, codeVerifier: undefined });
    expect(back.flow!.resource).toEqual(['https://api.example/a']);
    expect(back.input).toEqual({
      provider: oidc,
      client,
      scopes: ['openid', 'x'],
      flowId: 'flow-9',
      key: 'k',
      extraParams: { prompt: 'login' },
      pkceMethod: 'S256',
      resource: ['https://api.example/a'],
    });
    expect(back).toMatchObject({ state: context.flow!.state, attempt: 0 });
    expect(Object.keys(back).sort()).toEqual(['attempt', 'flow', 'input', 'state']);
  });
});

describe('decodePendingFlow', () => {
  it('a minimal record: exactly the fields it has, in input and flow', () => {
    const back = decode(recordFor(plainAs), plainAs);
    expect(back).toStrictEqual({
      input: { provider: plainAs, client, scopes: ['x'], flowId: 'f' },
      flow: { flowId: 'f', provider: plainAs, state: 'st', redirectUri: client.redirectUri, sentRedirectUri: client.redirectUri, scopes: ['x'], createdAt: 5 },
      state: 'st',
      attempt: 0,
    });
  });

  it('the errors of corrupt text: messages and causes', () => {
    const notJson = thrown(() => decodePendingFlow('{', { provider: plainAs, client, state: 'st' }));
    expect(notJson).toMatchObject({ code: 'storage_error', field: 'storage.pendingFlow', message: 'the stored pending flow is not valid JSON' });
    expect(notJson.cause).toBeInstanceOf(SyntaxError);
    const top = thrown(() => decodePendingFlow('[]', { provider: plainAs, client, state: 'st' }));
    expect(top).toMatchObject({ code: 'storage_error', field: 'storage.pendingFlow', message: 'the stored pending flow has a bad shape' });
    expect(Array.isArray(top.cause)).toBe(true);
    const deep = thrown(() => decode({ ...recordFor(plainAs), scopes: ['a', 3] }, plainAs));
    expect(deep).toMatchObject({ code: 'storage_error', field: 'storage.pendingFlow.scopes.1', message: 'the stored pending flow has a bad shape at "scopes.1"' });
    expect(Array.isArray(deep.cause)).toBe(true);
  });

  it.each([
    [{ flowId: '' }, 'flowId'],
    [{ flowId: 'x'.repeat(201) }, 'flowId'],
    [{ key: 3 }, 'key'],
    [{ codeVerifier: '' }, 'codeVerifier'],
    [{ pkceMethod: 'S512' }, 'pkceMethod'],
    [{ extraParams: { a: 1 } }, 'extraParams.a'],
    [{ nonce: '' }, 'nonce'],
    [{ resource: 'https://api.example' }, 'resource'],
    [{ createdAt: null }, 'createdAt'],
  ])('a bad field %j is storage_error at storage.pendingFlow.%s', (change, path) => {
    expect(thrown(() => decode({ ...recordFor(plainAs), ...change }, plainAs))).toMatchObject({ code: 'storage_error', field: `storage.pendingFlow.${path}` });
  });

  it('a flow id of 200 characters is accepted', () => {
    expect(decode({ ...recordFor(plainAs), flowId: 'x'.repeat(200) }, plainAs).flow!.flowId).toHaveLength(200);
  });

  it('a record made elsewhere: flow_not_found with the provider named', () => {
    const error = thrown(() => decode({ ...recordFor(plainAs), fingerprint: 'other' }, plainAs));
    expect(error).toMatchObject({
      code: 'flow_not_found',
      field: 'callback.state',
      message: 'the pending flow for this state was started under other data for provider "as", or with another client id or redirect URI: start the authorization again',
    });
    expect(thrown(() => decode(recordFor(plainAs), plainAs, 'st', { clientId: 'app' }))).toMatchObject({ code: 'flow_not_found', field: 'callback.state' });
  });

  it('a provider without a state parameter: the redirect URI as sent carries the state, and binds the record to it', () => {
    const noState = parseProvider({ ...plainAs, authorization: { ...plainAs.authorization!, sendsState: false } });
    const sent = 'https://app.example/cb?state=st';
    const record = { ...recordFor(noState), fingerprint: flowFingerprint(noState, 'app', sent) };
    const back = decode(record, noState, 'st');
    expect(back.flow).toMatchObject({ redirectUri: client.redirectUri, sentRedirectUri: sent, state: 'st' });
    expect(thrown(() => decode(record, noState, 'other'))).toMatchObject({ code: 'flow_not_found' });
    // A record fingerprinted with the bare redirect URI does not match either.
    expect(thrown(() => decode({ ...record, fingerprint: flowFingerprint(noState, 'app', client.redirectUri) }, noState, 'st'))).toMatchObject({ code: 'flow_not_found' });
  });

  it('no redirect URI in the client: flow_not_found, even for a record fingerprinted without one, and where the state rides in the redirect URI', () => {
    const bare = { clientId: 'app' };
    const forged = { ...recordFor(plainAs), fingerprint: flowFingerprint(plainAs, 'app', undefined as unknown as string) };
    expect(thrown(() => decode(forged, plainAs, 'st', bare))).toMatchObject({ code: 'flow_not_found', field: 'callback.state' });
    const noState = parseProvider({ ...plainAs, authorization: { ...plainAs.authorization!, sendsState: false } });
    expect(thrown(() => decode(recordFor(noState), noState, 'st', bare))).toMatchObject({ code: 'flow_not_found', field: 'callback.state' });
  });

  it('a provider without an authorization endpoint has no PKCE rule to apply', () => {
    const tokenOnly = genericOAuth2({ id: 'to', tokenEndpoint: 'https://to.example/token' });
    expect(decode(recordFor(tokenOnly), tokenOnly).flow!.codeVerifier).toBeUndefined();
  });

  it('PKCE required: a verifier is needed; optional PKCE: a record without one is accepted', () => {
    const error = thrown(() => decode(recordFor(euRouter), euRouter));
    expect(error).toMatchObject({ code: 'storage_error', field: 'storage.pendingFlow.codeVerifier', message: 'the stored pending flow has no code verifier, which this provider requires' });
    expect(error.cause).toBeUndefined();
    expect('cause' in error).toBe(false);
    expect(decode(recordFor(euRouter, { codeVerifier: 'v'.repeat(43) }), euRouter).flow!.codeVerifier).toBeDefined();
    expect(decode(recordFor(plainAs), plainAs).flow!.codeVerifier).toBeUndefined();
  });

  it('OpenID: a sign-in (openid scope) needs a nonce; without the scope, or at a plain provider, none is needed', () => {
    const error = thrown(() => decode(recordFor(oidc, { scopes: ['openid'] })));
    expect(error).toMatchObject({ code: 'storage_error', field: 'storage.pendingFlow.nonce', message: 'the stored pending flow has no nonce, which an OpenID Connect sign-in needs' });
    expect('cause' in error).toBe(false);
    expect(revealSecret(decode(recordFor(oidc, { scopes: ['openid'], nonce: 'n-1' })).flow!.nonce!)).toBe('n-1');
    expect(decode(recordFor(oidc, { scopes: ['profile'] })).flow!.nonce).toBeUndefined();
    expect(decode(recordFor(plainAs, { scopes: ['openid'] }), plainAs).flow!.nonce).toBeUndefined();
  });
});
