import { exportPKCS8, generateKeyPair } from 'jose';
import { createActor, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import { describe, expect, it } from 'vitest';
import { clientAssertionMachine, clientCredentialsMachine, provideServices } from '../../machines/index.js';
import { OAuthError } from '../../src/errors.js';
import { refreshLockKey, tokensKey } from '../../src/grants/storage-keys.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import type { TokenSet } from '../../src/tokens.js';
import { coverageReport, expectSameEnd, failingStorage, pathCoverage, replayPath, scriptedHttp, valueOf, withEdgePaths } from './support.js';

/**
 * Model-based tests of the two server-to-server machines, which share one state config: paths
 * from xstate/graph over each shipped machine, replayed on real actors whose lock, cache,
 * signing key and token endpoint produce the path's outcomes.
 */
const T0 = 1_700_000_000_000;
const provider = genericOAuth2({ id: 'model', tokenEndpoint: 'https://as.example/token', authMethods: ['client_secret_post', 'private_key_jwt'] });
const noGrant = { ...provider, grants: { refresh_token: {} } };
const input = { provider, client: { clientId: 'app' } };
const retry = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 };
const fresh: TokenSet = { accessToken: 'cached', tokenType: 'Bearer', expiresAt: T0 + 3_600_000, extra: {} };
const stale: TokenSet = { accessToken: 'old', tokenType: 'Bearer', expiresAt: T0 - 1, extra: {} };
const issued: TokenSet = { accessToken: 'new', tokenType: 'Bearer', expiresAt: T0 + 3_600_000, extra: {} };
const err = (code: string, status?: number, retryable = false) => new OAuthError(code, code, { ...(status ? { status } : {}), retryable });
const goodKey = await exportPKCS8((await generateKeyPair('RS256', { extractable: true })).privateKey);
const badKey = (await generateKeyPair('ES256', { extractable: true })).privateKey as CryptoKey;

type Outcome = { type: string; output?: unknown; error?: OAuthError };

function suite(name: string, machine: AnyStateMachine, secrets: { clientSecret?: string; privateKey?: string }) {
  const id = machine.id;
  const modelMachine = provideServices(machine, { clock: { now: () => T0 }, retry, secrets });
  const allEvents = () =>
    [
      { type: 'xstate.done.actor.prepareRequest', output: { provider: JSON.parse(JSON.stringify(provider)), auth: secrets.privateKey ? 'private_key_jwt' : 'client_secret_post', scopes: [] } },
      { type: 'xstate.error.actor.prepareRequest', error: err('invalid_configuration') },
      { type: 'xstate.done.actor.acquireLock', output: { acquired: true, lockToken: 'mine' } },
      { type: 'xstate.done.actor.acquireLock', output: { acquired: false } },
      { type: 'xstate.error.actor.acquireLock', error: err('storage_error') },
      { type: `xstate.after.lockPollInterval.${id}.awaitingLock` },
      { type: 'xstate.done.actor.loadCachedToken', output: fresh },
      { type: 'xstate.done.actor.loadCachedToken', output: stale },
      { type: 'xstate.done.actor.loadCachedToken', output: null },
      { type: 'xstate.error.actor.loadCachedToken', error: err('storage_error') },
      { type: 'xstate.done.actor.signAssertion', output: 'signed.jwt.value' },
      { type: 'xstate.error.actor.signAssertion', error: err('invalid_configuration') },
      { type: 'xstate.done.actor.requestToken', output: issued },
      { type: 'xstate.error.actor.requestToken', error: err('server_error', 503, true) },
      { type: 'xstate.error.actor.requestToken', error: err('invalid_client', 401) },
      { type: `xstate.after.retryDelay.${id}.holdingLock.waitingToRetry` },
      { type: 'xstate.done.actor.storeTokens' },
      { type: 'xstate.error.actor.storeTokens', error: err('storage_error') },
      { type: 'xstate.done.actor.releaseLock' },
      { type: 'xstate.error.actor.releaseLock', error: err('storage_error') },
    ] as never[];
  const events = (snapshot: AnyMachineSnapshot) => (snapshot.status !== 'active' ? [] : allEvents()).filter((event) => modelMachine.getTransitionData(snapshot, event).length > 0);
  const traversal = { input, events, serializeState: (s: AnyMachineSnapshot) => `${s.status}|${valueOf(s)}|${JSON.stringify(s.context)}` } as never;
  const shortest = getShortestPaths(modelMachine, traversal);
  // A key that signed once signs again (it is imported once): a signing failure after a success
  // is not something the world can produce, so such paths are left out of the replay.
  const feasible = (path: { steps: Array<{ event: { type: string } }> }) => {
    const types = path.steps.map((s) => s.event.type);
    const signed = types.indexOf('xstate.done.actor.signAssertion');
    return signed === -1 || !types.slice(signed).includes('xstate.error.actor.signAssertion');
  };
  const paths = [...shortest, ...getSimplePaths(modelMachine, traversal), ...withEdgePaths(modelMachine, shortest, events)].filter(feasible);

  async function replay(path: (typeof paths)[number]) {
    const outcomes = path.steps.map((s) => s.event as Outcome);
    const has = (type: string, match: (o: Outcome) => boolean = () => true) => outcomes.some((o) => o.type === type && match(o));
    const inner = memoryStorage();
    const at = tokensKey('model', 'app', 'client_credentials:');
    const lock = refreshLockKey('model', 'app', 'client_credentials:');
    const storage = failingStorage(inner, {
      get: (k) => k === at && has('xstate.error.actor.loadCachedToken'),
      set: (k) => k === at && has('xstate.error.actor.storeTokens'),
      setIfAbsent: () => has('xstate.error.actor.acquireLock'),
      deleteIfEquals: () => has('xstate.error.actor.releaseLock'),
    });

    if (has('xstate.done.actor.loadCachedToken', (o) => o.output === fresh)) await inner.set(at, JSON.stringify({ ...fresh, expiresAt: Date.now() + 3_600_000 }));
    if (has('xstate.done.actor.loadCachedToken', (o) => o.output === stale)) await inner.set(at, JSON.stringify({ ...stale, expiresAt: Date.now() - 1 }));
    if (has('xstate.done.actor.acquireLock', (o) => (o.output as { acquired: boolean }).acquired === false)) await inner.setIfAbsent!(lock, 'other', 120);
    const script = outcomes.flatMap((o): Response[] => {
      if (o.type === 'xstate.done.actor.requestToken') return [Response.json({ access_token: 'new', token_type: 'Bearer', expires_in: 3600 })];
      if (o.type === 'xstate.error.actor.requestToken') return [Response.json({ error: o.error!.code }, { status: o.error!.status! })];
      return [];
    });
    const http = scriptedHttp(script);
    const replaySecrets = has('xstate.error.actor.signAssertion') ? { privateKey: badKey } : secrets;
    const real = provideServices(machine, { http, storage, retry, lock: { pollIntervalMs: 40, ttlMs: 5000 }, secrets: replaySecrets });
    return replayPath(createActor(real, { input: has('xstate.error.actor.prepareRequest') ? { ...input, provider: noGrant } : input }), path);
  }

  describe(`${name}, model-based (xstate/graph over the shipped machine)`, () => {
    it.each(paths.map((path, i) => [i, path.steps.map((s) => s.event.type.replace('xstate.', '').replace('.actor', '')).join(' → '), path] as const))(
      'path %i replays on a real actor: %s',
      async (_i, _label, path) => {
        expectSameEnd(await replay(path), path.state, expect);
      },
    );

    it('covers 100% of the states and transitions', () => {
      const report = coverageReport(id, machine, pathCoverage(modelMachine, paths), paths.length);
      console.log(report.line);
      expect(report.missingStates).toEqual([]);
      expect(report.missingTransitions).toEqual([]);
    });
  });
}

suite('clientCredentialsMachine', clientCredentialsMachine, { clientSecret: 'secret' });
suite('clientAssertionMachine', clientAssertionMachine, { privateKey: goodKey });
