import { createActor, type AnyMachineSnapshot } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import { describe, expect, it } from 'vitest';
import { provideServices, refreshTokenMachine } from '../../machines/index.js';
import { OAuthError } from '../../src/errors.js';
import { refreshLockKey, tokensKey } from '../../src/grants/storage-keys.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import type { TokenSet } from '../../src/tokens.js';
import { coverageReport, expectSameEnd, failingStorage, pathCoverage, replayPath, scriptedHttp, valueOf, withEdgePaths } from './support.js';

/**
 * Model-based test of refreshTokenMachine: paths from xstate/graph over the shipped machine,
 * each replayed on a real actor whose storage, lock and HTTP produce the path's outcomes.
 */
const T0 = 1_700_000_000_000;
const provider = genericOAuth2({ id: 'model', tokenEndpoint: 'https://as.example/token' });
const input = { provider, client: { clientId: 'app' } };
const badInput = { provider: { ...provider, token: { ...provider.token, url: 'nope' } }, client: { clientId: 'app' } };
const retry = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 };
const fresh: TokenSet = { accessToken: 'fresh', tokenType: 'Bearer', expiresAt: T0 + 3_600_000, refreshToken: 'rt', extra: {} };
const stale: TokenSet = { accessToken: 'stale', tokenType: 'Bearer', expiresAt: T0 - 1, refreshToken: 'rt', extra: {} };
const renewed: TokenSet = { accessToken: 'renewed', tokenType: 'Bearer', expiresAt: T0 + 3_600_000, refreshToken: 'rt2', extra: {} };
const err = (code: string, status?: number, retryable = false) => new OAuthError(code, code, { ...(status ? { status } : {}), retryable });

const modelMachine = provideServices(refreshTokenMachine, { clock: { now: () => T0 }, retry });

const allEvents = () =>
  [
    { type: 'xstate.done.actor.prepareRefresh', output: JSON.parse(JSON.stringify(provider)) },
    { type: 'xstate.error.actor.prepareRefresh', error: err('invalid_provider') },
    { type: 'xstate.done.actor.acquireLock', output: { acquired: true, lockToken: 'mine' } },
    { type: 'xstate.done.actor.acquireLock', output: { acquired: false } },
    { type: 'xstate.error.actor.acquireLock', error: err('storage_error') },
    { type: 'xstate.after.lockPollInterval.refreshToken.awaitingLock' },
    { type: 'xstate.done.actor.loadTokens', output: fresh },
    { type: 'xstate.done.actor.loadTokens', output: stale },
    { type: 'xstate.error.actor.loadTokens', error: err('reauthorization_required') },
    { type: 'xstate.done.actor.refreshTokens', output: renewed },
    { type: 'xstate.error.actor.refreshTokens', error: err('invalid_grant', 400) },
    { type: 'xstate.error.actor.refreshTokens', error: err('temporarily_unavailable', 429, true) },
    { type: 'xstate.error.actor.refreshTokens', error: err('server_error', 503, true) },
    { type: 'xstate.after.retryDelay.refreshToken.holdingLock.waitingToRetry' },
    { type: 'xstate.done.actor.discardTokens' },
    { type: 'xstate.error.actor.discardTokens', error: err('storage_error') },
    { type: 'xstate.done.actor.storeTokens' },
    { type: 'xstate.error.actor.storeTokens', error: err('storage_error') },
    { type: 'xstate.done.actor.releaseLock' },
    { type: 'xstate.error.actor.releaseLock', error: err('storage_error') },
  ] as never[];

/** Only the events the machine handles in that state: an unhandled actor error would stop the actor. */
const events = (snapshot: AnyMachineSnapshot) => allEvents().filter((event) => modelMachine.getTransitionData(snapshot, event).length > 0);

const traversal = { input, events, serializeState: (s: AnyMachineSnapshot) => `${s.status}|${valueOf(s)}|${JSON.stringify(s.context)}` } as never;
const shortest = getShortestPaths(modelMachine, traversal);
const paths = [...shortest, ...getSimplePaths(modelMachine, traversal), ...withEdgePaths(modelMachine, shortest, events)];

type Outcome = { type: string; output?: unknown; error?: OAuthError };

async function replay(path: (typeof paths)[number]) {
  const outcomes = path.steps.map((s) => s.event as Outcome);
  const has = (type: string, match: (o: Outcome) => boolean = () => true) => outcomes.some((o) => o.type === type && match(o));
  const inner = memoryStorage();
  const at = tokensKey('model', 'app');
  const lock = refreshLockKey('model', 'app');
  const storage = failingStorage(inner, {
    set: (k) => k === at && has('xstate.error.actor.storeTokens'),
    delete: (k) => k === at && has('xstate.error.actor.discardTokens'),
    setIfAbsent: () => has('xstate.error.actor.acquireLock'),
    deleteIfEquals: () => has('xstate.error.actor.releaseLock'),
  });

  if (has('xstate.done.actor.loadTokens', (o) => o.output === fresh)) await inner.set(at, JSON.stringify({ ...fresh, expiresAt: Date.now() + 3_600_000 }));
  if (has('xstate.done.actor.loadTokens', (o) => o.output === stale)) await inner.set(at, JSON.stringify({ ...stale, expiresAt: Date.now() - 1 }));
  // Another holder has the lock for a moment (long enough to be seen on a busy machine): the actor waits, then takes it.
  if (has('xstate.done.actor.acquireLock', (o) => (o.output as { acquired: boolean }).acquired === false)) await inner.setIfAbsent!(lock, 'other', 120);
  const script = outcomes.flatMap((o): Response[] => {
    if (o.type === 'xstate.done.actor.refreshTokens') return [Response.json({ access_token: 'renewed', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt2' })];
    if (o.type === 'xstate.error.actor.refreshTokens') return [Response.json({ error: o.error!.code }, { status: o.error!.status! })];
    return [];
  });
  const http = scriptedHttp(script);
  const machine = provideServices(refreshTokenMachine, { http, storage, retry, lock: { pollIntervalMs: 40, ttlMs: 5000 } });
  return replayPath(createActor(machine, { input: has('xstate.error.actor.prepareRefresh') ? badInput : input }), path);
}

describe('refreshTokenMachine, model-based (xstate/graph over the shipped machine)', () => {
  it.each(paths.map((path, i) => [i, path.steps.map((s) => s.event.type.replace('xstate.', '').replace('.actor', '')).join(' → '), path] as const))(
    'path %i replays on a real actor: %s',
    async (_i, _label, path) => {
      // replay() resolves once the actor went through the path's states in order.
      expectSameEnd(await replay(path), path.state, expect);
    },
  );

  it('covers 100% of the states and transitions', () => {
    const report = coverageReport('refreshToken', refreshTokenMachine, pathCoverage(modelMachine, paths), paths.length);
    console.log(report.line);
    expect(report.missingStates).toEqual([]);
    expect(report.missingTransitions).toEqual([]);
  });
});
