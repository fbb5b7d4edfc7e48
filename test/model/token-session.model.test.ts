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
import { coverageReport, pathCoverage, valueOf, withEdgePaths } from './support.js';

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
  const http = async (_u: unknown, init?: RequestInit) =>
    script.shift() ?? new Promise<Response>((_r, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  const machine = provideServices(tokenSessionMachine, { http, storage, clock, retry });
  const expected = path.steps.map((s) => valueOf(s.state)).filter((v, i, all) => v !== all[i - 1]);
  const actor = createActor(machine, { input: steps.some((s) => s.type === 'xstate.error.actor.loadSession') ? { ...input, key: 'nobody' } : input, clock });
  let cursor = 0;
  const visited: string[] = [];
  actor.subscribe((s) => {
    visited.push(valueOf(s));
    if (valueOf(s) === expected[cursor]) cursor++;
  });
  // The refresh child's own retry timer runs on the same simulated clock: keep it moving while refreshing.
  const ticker = setInterval(() => {
    if (actor.getSnapshot().matches('refreshing')) clock.increment(5);
  }, 2);
  const until = async (condition: () => boolean) => {
    for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
    if (!condition()) throw new Error(`visited ${visited.join(' ')}; expected ${expected.join(' ')}`);
  };
  actor.start();
  try {
    for (const [index, step] of path.steps.entries()) {
      const type = step.event.type;
      const position = path.steps.slice(0, index).map((s) => valueOf(s.state)).filter((v, i, all) => v !== all[i - 1]).length;
      const atSource = () => cursor >= position && valueOf(actor.getSnapshot()) === expected[position - 1];
      if (type === 'refresh' || type === 'stop') {
        await until(atSource);
        actor.send({ type });
      } else if (type === 'xstate.after.refreshDelay.tokenSession.active') {
        await until(atSource);
        const expiresAt = actor.getSnapshot().context.tokens!.expiresAt!;
        clock.increment(Math.min(MAX_TIMER_MS, Math.max(0, expiresAt - WINDOW - clock.now())) + 1);
      } else if (type === 'xstate.after.retryDelay.tokenSession.waitingToRetry') {
        await until(atSource);
        clock.increment(retry.maxDelayMs + 1);
      }
    }
    await until(() => cursor >= expected.length);
    return actor.getSnapshot();
  } finally {
    clearInterval(ticker);
    actor.stop();
  }
}

describe('tokenSessionMachine, model-based (xstate/graph over the shipped machine)', () => {
  it.each(paths.map((path, i) => [i, path.steps.map((s) => s.event.type.replace('xstate.', '').replace('.actor', '')).join(' → '), path] as const))(
    'path %i replays on a real actor: %s',
    async (_i, _label, path) => {
      const end = await replay(path);
      if (path.state.status === 'done') {
        expect(valueOf(end)).toBe(valueOf(path.state));
        const want = path.state.output as GrantOutput;
        const got = end.output as GrantOutput;
        expect(got.status).toBe(want.status);
        expect(got.status === 'succeeded' ? undefined : got.error.code).toBe(want.status === 'succeeded' ? undefined : want.error.code);
      }
    },
  );

  it('covers 100% of the states and transitions', () => {
    const report = coverageReport('tokenSession', tokenSessionMachine, pathCoverage(modelMachine, paths), paths.length);
    console.log(report.line);
    expect(report.missingStates).toEqual([]);
    expect(report.missingTransitions).toEqual([]);
  });
});
