// Type tests for the machines' state values, checked by `npm run typecheck` (this file is in
// tsconfig's include) and run by vitest like any suite. A `@ts-expect-error` line must have an
// error: if a machine's typing regresses to loose (any state name accepted), the directive is
// unused and the typecheck fails; if it regresses to `never` (no state accepted), the accepted
// states fail instead.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createActor, type AnyStateMachine, type AnyStateNode, type SnapshotFrom, type StateValueFrom } from 'xstate';
import {
  authorizationCodeMachine,
  clientAssertionMachine,
  clientCredentialsMachine,
  deviceAuthorizationMachine,
  refreshTokenMachine,
  tokenSessionMachine,
} from '../../machines/index.js';
import { genericOAuth2 } from '../../src/providers/index.js';

/** Every machine here takes this input (its context is made from it; nothing runs). */
const input = {
  provider: genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/a', tokenEndpoint: 'https://as.example/t' }),
  client: { clientId: 'app', redirectUri: 'https://app.example/cb' },
};

/** What `snapshot.matches()` takes for a machine. */
type Matches<TMachine extends AnyStateMachine> = SnapshotFrom<TMachine>['matches'];

/** Every leaf state value under a state node, read from the machine: `'name'`, or `{ parent: 'child' }` for a nested one. */
function leafStateValues(node: AnyStateNode): unknown[] {
  return Object.entries(node.states).flatMap(([key, child]): unknown[] =>
    Object.keys(child.states).length === 0 ? [key] : leafStateValues(child).map((value) => ({ [key]: value })),
  );
}

/**
 * The states a machine has, listed by hand: each must be a value that the machine's typed
 * `snapshot.matches()` takes (`StateValueFrom` is its parameter), the list must be every leaf
 * state the machine has at run time, and a snapshot in each state matches it.
 */
function describeStates<TMachine extends AnyStateMachine>(machine: TMachine, states: ReadonlyArray<StateValueFrom<NoInfer<TMachine>>>) {
  const untyped: AnyStateMachine = machine;
  it('lists every state the machine has', () => {
    expect(leafStateValues(untyped.root)).toEqual(states);
  });
  it('a snapshot in each of them matches it', () => {
    const { context } = createActor(untyped, { input }).getSnapshot();
    for (const value of states) expect(untyped.resolveState({ value, context }).matches(value)).toBe(true);
  });
}

describe('authorizationCodeMachine', () => {
  describeStates(authorizationCodeMachine, ['preparing', 'awaitingCallback', 'exchanging', 'waitingToRetry', 'storing', 'succeeded', 'failed', 'cancelled', 'expired']);

  it('types matches()', () => {
    const { context } = createActor(authorizationCodeMachine, { input }).getSnapshot();
    const snapshot = authorizationCodeMachine.resolveState({ value: 'awaitingCallback', context });
    expect(snapshot.matches('awaitingCallback')).toBe(true);
    expect(snapshot.matches('exchanging')).toBe(false);
    expectTypeOf<Matches<typeof authorizationCodeMachine>>().toBeCallableWith('expired');
    // @ts-expect-error not a state of this machine
    expectTypeOf<Matches<typeof authorizationCodeMachine>>().toBeCallableWith('awaitingCalback');
    // @ts-expect-error a state of refreshTokenMachine, not of this one
    expectTypeOf<Matches<typeof authorizationCodeMachine>>().toBeCallableWith('holdingLock');
    // @ts-expect-error no state here has children
    expectTypeOf<Matches<typeof authorizationCodeMachine>>().toBeCallableWith({ exchanging: 'requesting' });
  });
});

describe('refreshTokenMachine', () => {
  describeStates(refreshTokenMachine, [
    'preparing',
    'locking',
    'awaitingLock',
    { holdingLock: 'loading' },
    { holdingLock: 'refreshing' },
    { holdingLock: 'waitingToRetry' },
    { holdingLock: 'discarding' },
    { holdingLock: 'storing' },
    'releasing',
    'succeeded',
    'failed',
  ]);

  it('types matches()', () => {
    const { context } = createActor(refreshTokenMachine, { input }).getSnapshot();
    const snapshot = refreshTokenMachine.resolveState({ value: { holdingLock: 'refreshing' }, context });
    expect(snapshot.matches('holdingLock')).toBe(true);
    expect(snapshot.matches({ holdingLock: 'refreshing' })).toBe(true);
    expect(snapshot.matches({ holdingLock: 'storing' })).toBe(false);
    // @ts-expect-error `refreshing` is nested: { holdingLock: 'refreshing' }
    expect(snapshot.matches('refreshing')).toBe(false);
    // @ts-expect-error not a state of holdingLock
    expectTypeOf<Matches<typeof refreshTokenMachine>>().toBeCallableWith({ holdingLock: 'requesting' });
    // @ts-expect-error not a state of this machine
    expectTypeOf<Matches<typeof refreshTokenMachine>>().toBeCallableWith('exchanging');
    // @ts-expect-error releasing has no children
    expectTypeOf<Matches<typeof refreshTokenMachine>>().toBeCallableWith({ releasing: 'storing' });
  });
});

describe('tokenSessionMachine', () => {
  describeStates(tokenSessionMachine, ['loading', 'active', 'refreshing', 'waitingToRetry', 'failed', 'stopped']);

  it('types matches()', () => {
    const { context } = createActor(tokenSessionMachine, { input }).getSnapshot();
    const snapshot = tokenSessionMachine.resolveState({ value: 'active', context });
    expect(snapshot.matches('active')).toBe(true);
    expect(snapshot.matches('stopped')).toBe(false);
    // @ts-expect-error not a state of this machine
    expectTypeOf<Matches<typeof tokenSessionMachine>>().toBeCallableWith('succeeded');
    // @ts-expect-error no state here has children
    expectTypeOf<Matches<typeof tokenSessionMachine>>().toBeCallableWith({ refreshing: 'loading' });
  });
});

describe('clientCredentialsMachine', () => {
  describeStates(clientCredentialsMachine, [
    'preparing',
    'locking',
    'awaitingLock',
    { holdingLock: 'loading' },
    { holdingLock: 'requesting' },
    { holdingLock: 'waitingToRetry' },
    { holdingLock: 'storing' },
    'releasing',
    'succeeded',
    'failed',
  ]);

  it('types matches()', () => {
    const { context } = createActor(clientCredentialsMachine, { input }).getSnapshot();
    const snapshot = clientCredentialsMachine.resolveState({ value: { holdingLock: 'requesting' }, context });
    expect(snapshot.matches('holdingLock')).toBe(true);
    expect(snapshot.matches({ holdingLock: 'requesting' })).toBe(true);
    expect(snapshot.matches({ holdingLock: 'waitingToRetry' })).toBe(false);
    // @ts-expect-error `requesting` is nested: { holdingLock: 'requesting' }
    expect(snapshot.matches('requesting')).toBe(false);
    // @ts-expect-error the assertion grant's state, not this one's
    expectTypeOf<Matches<typeof clientCredentialsMachine>>().toBeCallableWith({ holdingLock: 'signing' });
    // @ts-expect-error a state of refreshTokenMachine's holdingLock, not of this one's
    expectTypeOf<Matches<typeof clientCredentialsMachine>>().toBeCallableWith({ holdingLock: 'refreshing' });
    // @ts-expect-error not a state of this machine
    expectTypeOf<Matches<typeof clientCredentialsMachine>>().toBeCallableWith('awaitingCallback');
  });
});

describe('clientAssertionMachine', () => {
  describeStates(clientAssertionMachine, [
    'preparing',
    'locking',
    'awaitingLock',
    { holdingLock: 'loading' },
    { holdingLock: 'requesting' },
    { holdingLock: 'waitingToRetry' },
    { holdingLock: 'storing' },
    { holdingLock: 'signing' },
    'releasing',
    'succeeded',
    'failed',
  ]);

  it('types matches()', () => {
    const { context } = createActor(clientAssertionMachine, { input }).getSnapshot();
    const snapshot = clientAssertionMachine.resolveState({ value: { holdingLock: 'signing' }, context });
    expect(snapshot.matches('holdingLock')).toBe(true);
    expect(snapshot.matches({ holdingLock: 'signing' })).toBe(true);
    expect(snapshot.matches({ holdingLock: 'requesting' })).toBe(false);
    // @ts-expect-error `signing` is nested: { holdingLock: 'signing' }
    expect(snapshot.matches('signing')).toBe(false);
    // @ts-expect-error not a state of holdingLock
    expectTypeOf<Matches<typeof clientAssertionMachine>>().toBeCallableWith({ holdingLock: 'sign' });
    // @ts-expect-error not a state of this machine
    expectTypeOf<Matches<typeof clientAssertionMachine>>().toBeCallableWith('active');
  });
});

describe('deviceAuthorizationMachine', () => {
  describeStates(deviceAuthorizationMachine, ['requestingCode', 'waitingToRetry', 'awaitingUser', 'polling', 'storing', 'succeeded', 'failed', 'cancelled', 'expired']);

  it('types matches()', () => {
    const { context } = createActor(deviceAuthorizationMachine, { input }).getSnapshot();
    const snapshot = deviceAuthorizationMachine.resolveState({ value: 'awaitingUser', context });
    expect(snapshot.matches('awaitingUser')).toBe(true);
    expect(snapshot.matches('polling')).toBe(false);
    // @ts-expect-error a state of authorizationCodeMachine, not of this one
    expectTypeOf<Matches<typeof deviceAuthorizationMachine>>().toBeCallableWith('awaitingCallback');
    // @ts-expect-error a typo
    expectTypeOf<Matches<typeof deviceAuthorizationMachine>>().toBeCallableWith('awaitingUsr');
  });
});
