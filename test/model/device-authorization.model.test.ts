import { createActor, SimulatedClock, type AnyMachineSnapshot } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import { describe, expect, it } from 'vitest';
import { deviceAuthorizationMachine, provideServices } from '../../machines/index.js';
import { OAuthError } from '../../src/errors.js';
import type { DeviceAuthorizationContext, StartedDeviceAuthorization } from '../../src/grants/device-authorization.js';
import { parseProvider } from '../../src/provider/parse.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { Secret } from '../../src/secret.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import { sealTokenSet } from '../../src/tokens.js';
import { coverageReport, expectSameEnd, failingStorage, pathCoverage, replayPath, scriptedHttp, valueOf, withEdgePaths } from './support.js';

/**
 * Model-based test of deviceAuthorizationMachine: paths from xstate/graph over the shipped
 * machine, each replayed on a real actor on xstate's SimulatedClock (the same clock for its
 * timers and for the services), whose device and token endpoints answer the path's outcomes.
 */
const T0 = 1_700_000_000_000;
const provider = genericOAuth2({ id: 'model', tokenEndpoint: 'https://as.example/token', deviceAuthorizationEndpoint: 'https://as.example/device' });
const input = { provider, client: { clientId: 'tv' } };
const retry = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 };
/** Zero jitter: a backoff is 0 ms, so a poll after a transient failure comes at the interval exactly. */
const zeroRandom = (n: number) => new Uint8Array(n);
const err = (code: string, status: number, retryable = false) => new OAuthError(code, code, { status, retryable });

const started: StartedDeviceAuthorization = {
  provider: parseProvider(JSON.parse(JSON.stringify(provider))),
  scopes: [],
  deviceCode: Secret.of('dc'),
  userCode: 'ABCD-EFGH',
  verificationUri: 'https://as.example/activate',
  expiresAt: T0 + 600_000,
  interval: 5,
};
const tokens = sealTokenSet({ accessToken: 'at', tokenType: 'Bearer', extra: {} });

const modelMachine = provideServices(deviceAuthorizationMachine, { clock: { now: () => T0 }, random: zeroRandom, retry });

const POLL = 'xstate.after.pollInterval.deviceAuthorization.awaitingUser';
const LIFETIME = 'xstate.after.deviceCodeLifetime.deviceAuthorization.awaitingUser';
const RETRY = 'xstate.after.retryDelay.deviceAuthorization.waitingToRetry';

function allEvents(snapshot: AnyMachineSnapshot) {
  const context = snapshot.context as DeviceAuthorizationContext;
  return [
    { type: 'xstate.done.actor.requestDeviceCode', output: started },
    { type: 'xstate.error.actor.requestDeviceCode', error: err('temporarily_unavailable', 503, true) },
    { type: 'xstate.error.actor.requestDeviceCode', error: err('invalid_client', 401) },
    { type: RETRY },
    { type: 'cancel' },
    { type: POLL },
    { type: LIFETIME },
    { type: 'xstate.done.actor.pollToken', output: tokens },
    { type: 'xstate.error.actor.pollToken', error: err('authorization_pending', 400) },
    // Once per path: the interval would otherwise grow without end (each slow_down is a new context).
    ...(context.interval === 5 ? [{ type: 'xstate.error.actor.pollToken', error: err('slow_down', 400) }] : []),
    { type: 'xstate.error.actor.pollToken', error: err('expired_token', 400) },
    { type: 'xstate.error.actor.pollToken', error: err('access_denied', 400) },
    { type: 'xstate.error.actor.pollToken', error: err('server_error', 503, true) },
    { type: 'xstate.error.actor.pollToken', error: err('invalid_client', 401) },
    { type: 'xstate.done.actor.storeTokens' },
    { type: 'xstate.error.actor.storeTokens', error: err('storage_error', 0) },
  ] as never[];
}

/** Only the events the machine handles in that state: an unhandled actor error would stop the actor. */
const events = (snapshot: AnyMachineSnapshot) =>
  (snapshot.status !== 'active' ? [] : allEvents(snapshot)).filter((event) => modelMachine.getTransitionData(snapshot, event).length > 0);

const traversal = { input, events, serializeState: (s: AnyMachineSnapshot) => `${s.status}|${valueOf(s)}|${JSON.stringify(s.context)}` } as never;
const shortest = getShortestPaths(modelMachine, traversal);
const paths = [...shortest, ...getSimplePaths(modelMachine, traversal), ...withEdgePaths(modelMachine, shortest, events)];

type Outcome = { type: string; output?: unknown; error?: OAuthError };

/**
 * The device code's lifetime that makes the path's lifetime step come in the middle of the
 * interval it waits (the polls before it all in time), in seconds; long when the path has none.
 */
function expiresInFor(outcomes: Outcome[]): number {
  let interval = 5;
  let elapsed = 0;
  let counting = false;
  for (const o of outcomes) {
    if (o.type === 'xstate.done.actor.requestDeviceCode') counting = true;
    if (!counting) continue;
    if (o.type === 'xstate.error.actor.pollToken' && o.error!.code === 'slow_down') interval += 5;
    if (o.type === POLL) elapsed += interval * 1000;
    if (o.type === LIFETIME) return (elapsed + (interval * 1000) / 2) / 1000;
  }
  return 600;
}

async function replay(path: (typeof paths)[number]) {
  const outcomes = path.steps.map((s) => s.event as Outcome);
  const script = outcomes.flatMap((o): Response[] => {
    if (o.type === 'xstate.done.actor.requestDeviceCode') {
      return [Response.json({ device_code: 'dc', user_code: 'ABCD-EFGH', verification_uri: 'https://as.example/activate', expires_in: expiresInFor(outcomes) })];
    }
    if (o.type === 'xstate.done.actor.pollToken') return [Response.json({ access_token: 'at', token_type: 'Bearer' })];
    if (o.type === 'xstate.error.actor.requestDeviceCode' || o.type === 'xstate.error.actor.pollToken') return [Response.json({ error: o.error!.code }, { status: o.error!.status! })];
    return [];
  });
  const clock = new SimulatedClock();
  clock.set(T0);
  const storage = failingStorage(memoryStorage({ clock }), { set: (k) => k.includes(':tokens:') && outcomes.some((o) => o.type === 'xstate.error.actor.storeTokens') });
  // Past the scripted answers the server never answers, so a path may end in a working state.
  const machine = provideServices(deviceAuthorizationMachine, { http: scriptedHttp(script), storage, clock, random: zeroRandom, retry, timeoutMs: 2_000 });
  const actor = createActor(machine, { input, clock });
  return replayPath(actor, path, {
    driven: ['cancel', POLL, LIFETIME, RETRY],
    drive: async (event, atSource) => {
      await atSource();
      const context = actor.getSnapshot().context;
      if (event.type === 'cancel') actor.send({ type: 'cancel' });
      else if (event.type === POLL) clock.increment(context.interval * 1000);
      else if (event.type === LIFETIME) clock.increment(context.expiresAt! - clock.now());
      else clock.increment(retry.maxDelayMs + 1);
    },
  });
}

describe('deviceAuthorizationMachine, model-based (xstate/graph over the shipped machine)', () => {
  it('generates paths', () => {
    expect(shortest.length).toBeGreaterThan(5);
  });

  it.each(paths.map((path, i) => [i, path.steps.map((s) => s.event.type.replace('xstate.', '').replace('.actor', '')).join(' → '), path] as const))(
    'path %i replays on a real actor: %s',
    async (_i, _label, path) => {
      // replay() resolves once the actor went through the path's states in order.
      const end = await replay(path);
      expect(valueOf(end)).toBe(valueOf(path.state));
      expectSameEnd(end, path.state, expect);
    },
  );

  it('covers 100% of the states and transitions', () => {
    const report = coverageReport('deviceAuthorization', deviceAuthorizationMachine, pathCoverage(modelMachine, paths), paths.length);
    console.log(report.line);
    expect(report.missingStates).toEqual([]);
    expect(report.missingTransitions).toEqual([]);
  });
});
