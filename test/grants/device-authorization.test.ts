import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createActor, SimulatedClock, toPromise, waitFor } from 'xstate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceAuthorizationMachine, provideServices, type GrantOutput } from '../../machines/index.js';
import { startOidcServer, type OidcServer } from '../../src/cli/oidc-server.js';
import { OAuthError } from '../../src/errors.js';
import { buildDeviceAuthorizationRequest, buildDeviceTokenRequest, processDeviceAuthorizationResponse } from '../../src/grants/device-authorization.js';
import { tokensKey } from '../../src/grants/storage-keys.js';
import { parseProvider } from '../../src/provider/parse.js';
import { DEVICE_CODE_GRANT_TYPE, type Provider } from '../../src/provider/schema.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { secret } from '../../src/secret.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import type { Storage } from '../../src/services/types.js';

/**
 * The device authorization grant (RFC 8628): against oidc-provider (features.deviceFlow, with
 * its /device page driven as a user would), and against a scripted server for what oidc-provider
 * does not send (slow_down, interval) and for malformed answers.
 */
const T0 = 1_700_000_000_000;
const scripted = genericOAuth2({ id: 'device', tokenEndpoint: 'https://as.example/token', deviceAuthorizationEndpoint: 'https://as.example/device', defaultScopes: ['api:read'] });
const deviceBody = { device_code: 'the-device-code-secret', user_code: 'WDJB-MJHT', verification_uri: 'https://as.example/activate', verification_uri_complete: 'https://as.example/activate?user_code=WDJB-MJHT', expires_in: 1800 };
const tokenBody = { access_token: 'device-at', token_type: 'Bearer', expires_in: 3600, refresh_token: 'device-rt' };
const oauthError = (error: string, status = 400) => Response.json({ error }, { status });

interface Sent {
  url: string;
  headers: Headers;
  body: URLSearchParams;
}

/** A device endpoint and a token endpoint that answer from scripts, recording each request. */
function scriptedServer(options: { device?: () => Response; tokens?: Array<() => Response> }) {
  const sent: Sent[] = [];
  const tokens = [...(options.tokens ?? [])];
  const http = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    sent.push({ url, headers: new Headers(init?.headers), body: new URLSearchParams(String(init?.body)) });
    if (url.endsWith('/device')) return (options.device ?? (() => Response.json(deviceBody)))();
    const next = tokens.shift();
    return next ? next() : oauthError('authorization_pending');
  }) as typeof fetch;
  const polls = () => sent.filter((s) => s.url.endsWith('/token'));
  return { http, sent, polls };
}

/** The shipped machine on a simulated clock (its timers and the services' clock): delays are run by moving the clock. */
function onSimulatedClock(http: typeof fetch, storage: Storage = memoryStorage()) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const machine = provideServices(deviceAuthorizationMachine, { http, storage, clock, random: (n) => new Uint8Array(n), retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
  // What a plain inspector is given: every event and snapshot, as JSON.
  const inspected: string[] = [];
  const inspect = (event: { type: string; event?: unknown; snapshot?: unknown }) => inspected.push(JSON.stringify({ type: event.type, event: event.event, snapshot: event.snapshot }));
  const actor = createActor(machine, { input: { provider: scripted, client: { clientId: 'tv-app' } }, clock, inspect });
  return { clock, actor, storage, inspected };
}

describe('device authorization grant against a scripted server', () => {
  it('exposes user_code and the verification URIs, polls every 5 s, and slow_down adds 5 s for every later poll (RFC 8628 §3.5)', async () => {
    const server = scriptedServer({
      tokens: [() => oauthError('authorization_pending'), () => oauthError('slow_down'), () => oauthError('authorization_pending'), () => Response.json(tokenBody)],
    });
    const { clock, actor, storage, inspected } = onSimulatedClock(server.http);
    actor.start();
    let snapshot = await waitFor(actor, (s) => s.matches('awaitingUser'));
    expect(snapshot.context).toMatchObject({
      userCode: 'WDJB-MJHT',
      verificationUri: 'https://as.example/activate',
      verificationUriComplete: 'https://as.example/activate?user_code=WDJB-MJHT',
      expiresAt: T0 + 1_800_000,
      interval: 5,
    });
    // The device code is a Secret: no serializer sees it.
    expect(JSON.stringify(snapshot)).not.toContain('the-device-code-secret');
    const pollTimes: number[] = [];
    const step = async (ms: number, polls: number) => {
      clock.increment(ms);
      await waitFor(actor, (s) => server.polls().length === polls && (s.matches('awaitingUser') || s.status === 'done'));
      pollTimes.push(...server.polls().slice(pollTimes.length).map(() => clock.now() - T0));
    };
    await step(4_999, 0);
    await step(1, 1); // authorization_pending at 5 s
    await step(5_000, 2); // slow_down at 10 s
    expect(actor.getSnapshot().context.interval).toBe(10);
    await step(5_000, 2); // 15 s: not yet
    await step(5_000, 3); // 20 s: authorization_pending
    await step(9_999, 3);
    await step(1, 4); // 30 s: the tokens
    expect(pollTimes).toEqual([5_000, 10_000, 20_000, 30_000]);
    const output = (await toPromise(actor)) as GrantOutput;
    expect(output.status).toBe('succeeded');
    if (output.status !== 'succeeded') return;
    expect(output.tokens).toMatchObject({ accessToken: 'device-at', refreshToken: 'device-rt', scopes: ['api:read'] });
    expect(JSON.parse((await storage.get(tokensKey('device', 'tv-app')))!)).toMatchObject({ accessToken: 'device-at' });
    // No inspector sees the device code or the tokens; it does see the user code, which is shown to the user.
    const seen = inspected.join('\n');
    expect(seen).toContain('WDJB-MJHT');
    for (const value of ['the-device-code-secret', 'device-at', 'device-rt']) expect(seen).not.toContain(value);

    const [device, ...polls] = server.sent;
    expect(device!.url).toBe('https://as.example/device');
    expect(Object.fromEntries(device!.body)).toEqual({ client_id: 'tv-app', scope: 'api:read' });
    expect(device!.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(polls[0]!.body)).toEqual({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: 'the-device-code-secret', client_id: 'tv-app' });
  });

  it('the server interval is honoured; authorization_pending keeps waiting; expires_in ends it expired (expired_token) without a late poll', async () => {
    const server = scriptedServer({ device: () => Response.json({ ...deviceBody, expires_in: 25, interval: 10 }) });
    const { clock, actor } = onSimulatedClock(server.http);
    actor.start();
    await waitFor(actor, (s) => s.matches('awaitingUser'));
    for (const polls of [1, 2]) {
      clock.increment(10_000);
      await waitFor(actor, (s) => server.polls().length === polls && s.matches('awaitingUser'));
    }
    clock.increment(5_000); // 25 s: the device code's lifetime
    const output = (await toPromise(actor)) as GrantOutput;
    expect(actor.getSnapshot().value).toBe('expired');
    expect(output).toMatchObject({ status: 'expired', error: { code: 'expired_token' } });
    expect(server.polls()).toHaveLength(2);
  });

  it.each([
    ['expired_token', 'expired'],
    ['access_denied', 'failed'],
    ['invalid_client', 'failed'],
  ])('%s from the token endpoint ends it %s with that code', async (code, status) => {
    const server = scriptedServer({ tokens: [() => oauthError('authorization_pending'), () => oauthError(code, code === 'invalid_client' ? 401 : 400)] });
    const { clock, actor } = onSimulatedClock(server.http);
    actor.start();
    await waitFor(actor, (s) => s.matches('awaitingUser'));
    clock.increment(5_000);
    await waitFor(actor, (s) => server.polls().length === 1 && s.matches('awaitingUser'));
    clock.increment(5_000);
    const output = (await toPromise(actor)) as GrantOutput;
    expect(output.status).toBe(status);
    expect(output.status !== 'succeeded' && output.error).toMatchObject({ code, status: code === 'invalid_client' ? 401 : 400 });
  });

  it('a transient failure (503, network) polls again later; when the retries run out it fails', async () => {
    let failNetwork = true;
    const server = scriptedServer({ tokens: [() => oauthError('server_error', 503), () => Response.json(tokenBody)] });
    const http = (async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input).endsWith('/token') && failNetwork) {
        failNetwork = false;
        throw new TypeError('fetch failed');
      }
      return server.http(input, init);
    }) as typeof fetch;
    const { clock, actor } = onSimulatedClock(http);
    actor.start();
    await waitFor(actor, (s) => s.matches('awaitingUser'));
    clock.increment(5_000); // network error
    await waitFor(actor, (s) => s.matches('awaitingUser') && s.context.attempt === 1);
    clock.increment(5_002); // 503
    await waitFor(actor, (s) => s.matches('awaitingUser') && s.context.attempt === 2);
    clock.increment(5_002);
    expect(((await toPromise(actor)) as GrantOutput).status).toBe('succeeded');

    const down = scriptedServer({ tokens: Array.from({ length: 5 }, () => () => oauthError('temporarily_unavailable', 503)) });
    const second = onSimulatedClock(down.http);
    second.actor.start();
    await waitFor(second.actor, (s) => s.matches('awaitingUser'));
    for (let i = 0; i < 3 && second.actor.getSnapshot().status === 'active'; i++) {
      second.clock.increment(6_000);
      await waitFor(second.actor, (s) => down.polls().length === i + 1 && (s.matches('awaitingUser') || s.status === 'done'));
    }
    const output = (await toPromise(second.actor)) as GrantOutput;
    expect(output).toMatchObject({ status: 'failed', error: { code: 'temporarily_unavailable', status: 503 } });
    expect(down.polls()).toHaveLength(3);
  });

  it.each([
    ['device_code missing', { ...deviceBody, device_code: undefined }, 'device_code', /"device_code" property is missing/],
    ['user_code not a string', { ...deviceBody, user_code: 42 }, 'user_code', /"user_code" property must be a non-empty string/],
    ['verification_uri missing', { ...deviceBody, verification_uri: undefined }, 'verification_uri', /"verification_uri" property is missing/],
    ['verification_uri not a URL', { ...deviceBody, verification_uri: 'javascript:alert(1)' }, 'verification_uri', /http\(s\) URL/],
    ['verification_uri_complete not a string', { ...deviceBody, verification_uri_complete: ['x'] }, 'verification_uri_complete', /non-empty string/],
    ['expires_in missing', { ...deviceBody, expires_in: undefined }, 'expires_in', /"expires_in" property is missing/],
    ['expires_in zero', { ...deviceBody, expires_in: 0 }, 'expires_in', /positive number of seconds/],
    ['interval negative', { ...deviceBody, interval: -5 }, 'interval', /"interval" property must be a positive number/],
  ])('a malformed device response (%s) fails with invalid_response naming the field', async (_name, body, field, message) => {
    const server = scriptedServer({ device: () => Response.json(body) });
    const { actor } = onSimulatedClock(server.http);
    actor.start();
    const output = (await toPromise(actor)) as GrantOutput;
    expect(output.status).toBe('failed');
    if (output.status !== 'failed') return;
    expect(output.error).toMatchObject({ code: 'invalid_response', field: `response.body.${field}`, status: 200 });
    expect(output.error.message).toMatch(message);
    expect(output.error.message).not.toContain('the-device-code-secret');
    expect(server.polls()).toHaveLength(0);
  });

  it('a body that is not JSON, and an error from the device endpoint, end it failed; a 503 there is retried', async () => {
    const notJson = onSimulatedClock(scriptedServer({ device: () => new Response('<html>', { status: 200 }) }).http);
    notJson.actor.start();
    expect(await toPromise(notJson.actor)).toMatchObject({ status: 'failed', error: { code: 'invalid_response', field: 'response.body' } });

    const refused = onSimulatedClock(scriptedServer({ device: () => oauthError('invalid_scope') }).http);
    refused.actor.start();
    const output = (await toPromise(refused.actor)) as GrantOutput;
    expect(output).toMatchObject({ status: 'failed', error: { code: 'invalid_scope', status: 400 } });
    expect(output.status === 'failed' && output.error.message).toMatch(/^device authorization endpoint answered invalid_scope/);

    let first = true;
    const busy = scriptedServer({
      device: () => {
        if (!first) return Response.json(deviceBody);
        first = false;
        return oauthError('temporarily_unavailable', 503);
      },
    });
    const retried = onSimulatedClock(busy.http);
    retried.actor.start();
    await waitFor(retried.actor, (s) => s.matches('waitingToRetry'));
    retried.clock.increment(3);
    await waitFor(retried.actor, (s) => s.matches('awaitingUser'));
    expect(busy.sent).toHaveLength(2);
    retried.actor.stop();
  });

  it('cancel ends it cancelled (from awaiting the user and while polling); stop() too, through provideServices', async () => {
    const server = scriptedServer({});
    const a = onSimulatedClock(server.http);
    a.actor.start();
    await waitFor(a.actor, (s) => s.matches('awaitingUser'));
    a.actor.send({ type: 'cancel' });
    expect(await toPromise(a.actor)).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });

    const hanging = (async (input: string | URL | Request, init?: RequestInit) =>
      String(input).endsWith('/token') ? new Promise<Response>(() => {}) : server.http(input, init)) as typeof fetch;
    const b = onSimulatedClock(hanging);
    b.actor.start();
    await waitFor(b.actor, (s) => s.matches('awaitingUser'));
    b.clock.increment(5_000);
    await waitFor(b.actor, (s) => s.matches('polling'));
    b.actor.send({ type: 'cancel' });
    expect(await toPromise(b.actor)).toMatchObject({ status: 'cancelled' });

    const c = onSimulatedClock(server.http);
    c.actor.start();
    await waitFor(c.actor, (s) => s.matches('awaitingUser'));
    const done = toPromise(c.actor);
    c.actor.stop();
    expect(await done).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
  });

  it('tokens that cannot be stored are returned with the storage error beside them', async () => {
    const inner = memoryStorage();
    const storage: Storage = { ...inner, get: (k) => inner.get(k), delete: (k) => inner.delete(k), set: async () => Promise.reject(new Error('disk full')) };
    const { clock, actor } = onSimulatedClock(scriptedServer({ tokens: [() => Response.json(tokenBody)] }).http, storage);
    actor.start();
    await waitFor(actor, (s) => s.matches('awaitingUser'));
    clock.increment(5_000);
    const output = (await toPromise(actor)) as GrantOutput;
    expect(output.status).toBe('succeeded');
    if (output.status !== 'succeeded') return;
    expect(output.tokens.accessToken).toBe('device-at');
    expect(output.storageError?.code).toBe('storage_error');
  });
});

describe('device authorization requests and provider data', () => {
  it('authenticates the client by the token endpoint strategies: client_secret_basic at both endpoints, no grant_type at the device endpoint', () => {
    const provider = genericOAuth2({ id: 'device', tokenEndpoint: 'https://as.example/token', deviceAuthorizationEndpoint: 'https://as.example/device', authMethods: ['client_secret_basic'] });
    const client = { clientId: 'tv app', userAgent: 'tv/1.0' };
    const request = buildDeviceAuthorizationRequest({ provider, client, secrets: { clientSecret: 's3cret' }, scopes: ['a', 'b'], extraParams: { audience: 'api' }, userAgentHeader: true });
    expect(request.url).toBe('https://as.example/device');
    expect(request.headers.authorization).toBe(`Basic ${btoa('tv+app:s3cret')}`);
    expect(request.headers['user-agent']).toBe('tv/1.0');
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({ audience: 'api', scope: 'a b' });
    const poll = buildDeviceTokenRequest({ provider, client, secrets: { clientSecret: 's3cret' }, deviceCode: secret('dc') });
    expect(poll.url).toBe('https://as.example/token');
    expect(poll.headers.authorization).toBe(`Basic ${btoa('tv+app:s3cret')}`);
    expect(Object.fromEntries(new URLSearchParams(poll.body))).toEqual({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: 'dc' });
  });

  it('interval defaults to 5 s; expires_in as a string of digits is read', () => {
    const response = { status: 200, headers: new Headers(), text: JSON.stringify({ ...deviceBody, verification_uri_complete: undefined, expires_in: '600' }) };
    const parsed = processDeviceAuthorizationResponse(scripted, response, T0);
    expect(parsed).toMatchObject({ userCode: 'WDJB-MJHT', interval: 5, expiresAt: T0 + 600_000 });
    expect(parsed.verificationUriComplete).toBeUndefined();
    expect(JSON.stringify(parsed)).not.toContain('the-device-code-secret');
  });

  it('genericOAuth2({ deviceAuthorizationEndpoint }) declares the endpoint and the device_code grant; grants.device_code needs deviceAuthorization', () => {
    expect(scripted.deviceAuthorization).toEqual({ url: 'https://as.example/device' });
    expect(scripted.grants.device_code).toMatchObject({ default: ['api:read'] });
    expect(genericOAuth2({ tokenEndpoint: 'https://as.example/token' }).grants.device_code).toBeUndefined();
    const { deviceAuthorization: _endpoint, ...withoutEndpoint } = scripted;
    expect(() => parseProvider(JSON.parse(JSON.stringify(withoutEndpoint)))).toThrow(expect.objectContaining({ code: 'invalid_provider', field: 'deviceAuthorization' }));
    expect(() => parseProvider({ ...JSON.parse(JSON.stringify(scripted)), deviceAuthorization: { url: 'ftp://as.example/device' } })).toThrow(
      expect.objectContaining({ code: 'invalid_provider', field: 'deviceAuthorization.url' }),
    );
  });

  it('a provider without the device grant is refused before any request (invalid_configuration)', async () => {
    const server = scriptedServer({});
    const machine = provideServices(deviceAuthorizationMachine, { http: server.http });
    const actor = createActor(machine, { input: { provider: genericOAuth2({ tokenEndpoint: 'https://as.example/token' }), client: { clientId: 'tv-app' } } }).start();
    expect(await toPromise(actor)).toMatchObject({ status: 'failed', error: { code: 'invalid_configuration', field: 'provider.grants.device_code' } });
    expect(server.sent).toHaveLength(0);
  });
});

describe('device authorization grant against oidc-provider over real HTTP', () => {
  let server: OidcServer;
  let provider: (authMethods?: Array<'none' | 'client_secret_basic' | 'client_secret_post'>) => Provider;
  const basicSecret = 'device-basic-secret-0123456789';

  beforeAll(async () => {
    server = await startOidcServer({
      deviceFlow: true,
      deviceCodeTtlSeconds: 4,
      clients: [
        { client_id: 'tv-app', token_endpoint_auth_method: 'none', grant_types: [DEVICE_CODE_GRANT_TYPE, 'refresh_token'], response_types: [], redirect_uris: [] },
        { client_id: 'tv-basic', client_secret: basicSecret, token_endpoint_auth_method: 'client_secret_basic', grant_types: [DEVICE_CODE_GRANT_TYPE], response_types: [], redirect_uris: [] },
      ],
    });
    provider = (authMethods) =>
      genericOAuth2({
        id: 'oidc',
        issuer: server.issuer,
        tokenEndpoint: server.tokenEndpoint,
        deviceAuthorizationEndpoint: server.deviceAuthorizationEndpoint,
        defaultScopes: ['openid', 'api:read'],
        ...(authMethods ? { authMethods } : {}),
      });
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** The shipped machine with its polling shrunk to 20 ms (the named delay), against the real server. */
  function start(clientId: string, options: { secrets?: { clientSecret: string }; authMethods?: Array<'none' | 'client_secret_basic'>; lifetimeMs?: number } = {}) {
    const storage = memoryStorage();
    const polls: number[] = [];
    const http = (async (input: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(input, init);
      if (String(input) === server.tokenEndpoint) polls.push(response.status);
      return response;
    }) as typeof fetch;
    const machine = provideServices(deviceAuthorizationMachine, { http, storage, ...(options.secrets ? { secrets: options.secrets } : {}) }).provide({
      delays: { pollInterval: 20, ...(options.lifetimeMs === undefined ? {} : { deviceCodeLifetime: options.lifetimeMs }) },
    });
    const actor = createActor(machine, { input: { provider: provider(options.authMethods), client: { clientId } } }).start();
    return { actor, storage, polls };
  }

  it('public client: the user enters the code on the /device page and approves; polling gets a JWT access token and a refresh token, stored', async () => {
    const { actor, storage, polls } = start('tv-app');
    const awaiting = await waitFor(actor, (s) => s.matches('awaitingUser') || s.status === 'done');
    expect(awaiting.status, JSON.stringify(awaiting.output)).toBe('active');
    const { userCode, verificationUri, verificationUriComplete } = awaiting.context;
    expect(userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(verificationUri).toBe(`${server.issuer}/device`);
    expect(verificationUriComplete).toContain('user_code=');
    // The user is slow: the device keeps polling and hears authorization_pending.
    await waitFor(actor, () => polls.length >= 2);
    expect(polls.every((status) => status === 400)).toBe(true);
    await server.enterUserCode(userCode!);
    const output = (await toPromise(actor)) as GrantOutput;
    expect(output.status, JSON.stringify({ output, events: server.events })).toBe('succeeded');
    if (output.status !== 'succeeded') return;
    const { payload } = await jwtVerify(output.tokens.accessToken, createRemoteJWKSet(new URL(server.jwksUri)), { issuer: server.issuer, audience: server.resource });
    expect(payload.client_id).toBe('tv-app');
    expect(payload.scope).toContain('api:read');
    expect(output.tokens.refreshToken).toBeTruthy();
    expect(JSON.parse((await storage.get(tokensKey('oidc', 'tv-app')))!).accessToken).toBe(output.tokens.accessToken);
  });

  it('confidential client with client_secret_basic at the device and token endpoints', async () => {
    const { actor } = start('tv-basic', { secrets: { clientSecret: basicSecret }, authMethods: ['client_secret_basic'] });
    const awaiting = await waitFor(actor, (s) => s.matches('awaitingUser') || s.status === 'done');
    expect(awaiting.status, JSON.stringify(awaiting.output)).toBe('active');
    await server.enterUserCode(awaiting.context.userCode!);
    const output = (await toPromise(actor)) as GrantOutput;
    expect(output.status, JSON.stringify({ output, events: server.events })).toBe('succeeded');
  });

  it('the user aborts on the /device page: access_denied ends it failed', async () => {
    const { actor } = start('tv-app');
    const awaiting = await waitFor(actor, (s) => s.matches('awaitingUser'));
    await server.enterUserCode(awaiting.context.userCode!, { deny: true });
    const output = (await toPromise(actor)) as GrantOutput;
    expect(output).toMatchObject({ status: 'failed', error: { code: 'access_denied', status: 400 } });
  });

  it('a device code the user never confirms: the server answers expired_token, which ends it expired', async () => {
    // The local lifetime is made longer than the server's (4 s), so it is the server that says so.
    const { actor } = start('tv-app', { lifetimeMs: 60_000 });
    const output = (await toPromise(actor)) as GrantOutput;
    expect(output).toMatchObject({ status: 'expired', error: { code: 'expired_token', status: 400 } });
  }, 20_000);

  it('a wrong client is refused at the device endpoint (invalid_client), before any polling', async () => {
    const { actor, polls } = start('nobody');
    const output = (await toPromise(actor)) as GrantOutput;
    expect(output).toMatchObject({ status: 'failed', error: { code: 'invalid_client' } });
    expect(output.status === 'failed' && output.error).toBeInstanceOf(OAuthError);
    expect(polls).toHaveLength(0);
  });
});
