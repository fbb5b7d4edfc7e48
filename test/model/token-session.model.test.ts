import { createActor, SimulatedClock, type AnyMachineSnapshot } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import { describe, expect, it } from 'vitest';
import { provideServices, tokenSessionMachine } from '../../machines/index.js';
import { OAuthError } from '../../src/errors.js';
import { MAX_TIMER_MS } from '../../src/grants/token-session.js';
import { tokensKey } from '../../src/grants/storage-keys.js';
import type { GrantOutput } from '../../src/grants/types.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import type { TokenSet } from '../../src/tokens.js';
import { coverageReport, expectSameEnd, pathCoverage, replayPath, scriptedHttp, valueOf, withEdgePaths } from './support.js';

/**
 * Model-based test of tokenSessionMachine: paths from xstate/graph over the shipped machine,
 * replayed on a real actor driven by xstate's SimulatedClock (the same clock for its timers and
 * for the services), with the refresh child talking to a scripted token endpoint.
 */
const T0 = 1_700_000_000_000;
const WINDOW = 60_000;
const FAR = 30 * 24 * 3600 * 1000; // beyond setTimeout's cap: the timer re-arms before it is due
const provider = genericOAuth2({ id: 'model', tokenEndpoint: 'https://as.example/token' });
const input = { provider, client: { clientId: 'app' }, refreshWindowMs: WINDOW };
const retry = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 };
const token = (expiresAt: number): TokenSet => ({ accessToken: `at-${expiresAt}`, tokenType: 'Bearer', expiresAt, refreshToken: 'rt', extra: {} });
const due = token(T0 + 30_000);
const notDue = token(T0 + FAR);
const renewed: GrantOutput = { status: 'succeeded', tokens: token(T0 + FAR), refreshed: true };
const transient: GrantOutput = { status: 'failed', error: new OAuthError('temporarily_unavailable', 'busy', { status: 429, retryable: true }) };
const refused: GrantOutput = { status: 'failed', error: new OAuthError('reauthorization_required', 'refused', { status: 400 }) };

const modelMachine = provideServices(tokenSessionMachine, { clock: { now: () => T0 }, retry });
const allEvents = () =>
  [
    { type: 'xstate.done.actor.loadSession', output: due },
    { type: 'xstate.done.actor.loadSession', output: notDue },
    { type: 'xstate.error.actor.loadSession', error: new OAuthError('reauthorization_required', 'none') },
    { type: 'xstate.after.refreshDelay.tokenSession.active' },
    { type: 'refresh' },
    { type: 'stop' },
    { type: 'xstate.done.actor.refreshSession', output: renewed },
    { type: 'xstate.done.actor.refreshSession', output: transient },
    { type: 'xstate.done.actor.refreshSession', output: refused },
    { type: 'xstate.after.retryDelay.tokenSession.waitingToRetry' },
  ] as never[];
const events = (snapshot: AnyMachineSnapshot) => (snapshot.status !== "active" ? [] : allEvents()).filter((event) => modelMachine.getTransitionData(snapshot, event).length > 0);
const traversal = { input, events, serializeState: (s: AnyMachineSnapshot) => `${s.status}|${valueOf(s)}|${JSON.stringify(s.context)}` } as never;
const shortest = getShortestPaths(modelMachine, traversal);
const paths = [...shortest, ...getSimplePaths(modelMachine, traversal), ...withEdgePaths(modelMachine, shortest, events)];

type Step = { type: string; output?: unknown };

async function replay(path: (typeof paths)[number]) {
  const steps = path.steps.map((s) => s.event as Step);
  const clock = new SimulatedClock();
  clock.set(T0);
  const storage = memoryStorage({ clock });
  const load = steps.find((s) => s.type === 'xstate.done.actor.loadSession')?.output as TokenSet | undefined;
  if (load) await storage.set(tokensKey('model', 'app'), JSON.stringify(load));
  // Each refresh outcome of the path, as the token endpoint answers it (the child retries a 429 once itself).
  const script: Response[] = steps.flatMap((s): Response[] => {
    if (s.type !== 'xstate.done.actor.refreshSession') return [];
    if (s.output === renewed) return [Response.json({ access_token: 'renewed', token_type: 'Bearer', expires_in: FAR / 1000 })];
    const busy = () => Response.json({ error: 'temporarily_unavailable' }, { status: 429 });
    if (s.output === transient) return [busy(), busy()];
    return [Response.json({ error: 'invalid_grant' }, { status: 400 })];
  });
  const http = scriptedHttp(script);
  const machine = provideServices(tokenSessionMachine, { http, storage, clock, retry });
  const actor = createActor(machine, { input: steps.some((s) => s.type === 'xstate.error.actor.loadSession') ? { ...input, key: 'nobody' } : input, clock });
  // The refresh child's own retry timer runs on the same simulated clock: keep it moving while refreshing.
  const ticker = setInterval(() => {
    if (actor.getSnapshot().matches('refreshing')) clock.increment(5);
  }, 2);
  try {
    return await replayPath(actor, path, {
      driven: ['refresh', 'stop', 'xstate.after.refreshDelay.tokenSession.active', 'xstate.after.retryDelay.tokenSession.waitingToRetry'],
      drive: async (event, atSource) => {
        const type = (event as Step).type;
        if (type === 'refresh' || type === 'stop') {
          await atSource();
          actor.send({ type });
        } else if (type === 'xstate.after.refreshDelay.tokenSession.active') {
          await atSource();
          const expiresAt = actor.getSnapshot().context.tokens!.expiresAt!;
          clock.increment(Math.min(MAX_TIMER_MS, Math.max(0, expiresAt - WINDOW - clock.now())) + 1);
        } else if (type === 'xstate.after.retryDelay.tokenSession.waitingToRetry') {
          await atSource();
          clock.increment(retry.maxDelayMs + 1);
        }
      },
    });
  } finally {
    clearInterval(ticker);
  }
}

describe('tokenSessionMachine, model-based (xstate/graph over the shipped machine)', () => {
  it.each(paths.map((path, i) => [i, path.steps.map((s) => s.event.type.replace('xstate.', '').replace('.actor', '')).join(' → '), path] as const))(
    'path %i replays on a real actor: %s',
    async (_i, _label, path) => {
      expectSameEnd(await replay(path), path.state, expect);
    },
  );

  it('covers 100% of the states and transitions', () => {
    const report = coverageReport('tokenSession', tokenSessionMachine, pathCoverage(modelMachine, paths), paths.length);
    console.log(report.line);
    expect(report.missingStates).toEqual([]);
    expect(report.missingTransitions).toEqual([]);
  });
});
