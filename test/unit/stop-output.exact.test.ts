import { createActor, createMachine, toPromise } from 'xstate';
import { describe, expect, it, vi } from 'vitest';
import { OAuthError } from '../../src/errors.js';
import { cancelledOnStop } from '../../src/grants/stop-output.js';

/** A small machine: waits in `idle` until `FINISH` (output `{ status: 'done' }`) or `FAIL` (an error). */
const make = () =>
  cancelledOnStop(
    createMachine({
      id: 'small',
      initial: 'idle',
      states: {
        idle: { on: { FINISH: 'finished', NEXT: 'other' } },
        other: { on: { FINISH: 'finished' } },
        finished: { type: 'final' },
      },
      output: () => ({ status: 'done' }),
    }),
  );

describe('cancelledOnStop on a plain machine', () => {
  it('a stop while active gives a cancelled output with an OAuthError, made once, seen by toPromise and in a copy of the snapshot', async () => {
    const actor = createActor(make()).start();
    const settled = toPromise(actor);
    actor.stop();
    const output = (await settled) as { status: string; error: OAuthError };
    expect(output.status).toBe('cancelled');
    expect(output.error).toBeInstanceOf(OAuthError);
    expect(output.error).toMatchObject({ code: 'cancelled', message: 'the actor was stopped before it finished' });
    const snapshot = actor.getSnapshot();
    expect(snapshot.output).toBe(snapshot.output);
    expect(snapshot.output).toBe(output);
    expect(Object.keys(snapshot)).toContain('output');
    expect({ ...snapshot }.output).toBe(output);
  });

  it('other events give no output while the machine runs', () => {
    const actor = createActor(make()).start();
    actor.send({ type: 'NEXT' });
    expect(actor.getSnapshot().value).toBe('other');
    expect(actor.getSnapshot().output).toBeUndefined();
    actor.send({ type: 'UNKNOWN' });
    expect(actor.getSnapshot().output).toBeUndefined();
    actor.stop();
    expect(actor.getSnapshot().output).toMatchObject({ status: 'cancelled' });
  });

  it('a finished machine keeps its own output when stopped', async () => {
    const actor = createActor(make()).start();
    actor.send({ type: 'FINISH' });
    expect(await toPromise(actor)).toEqual({ status: 'done' });
    actor.stop();
    expect(actor.getSnapshot().output).toEqual({ status: 'done' });
  });

  it('the transition function called directly: only xstate.stop on an active snapshot adds the output', () => {
    const machine = make();
    const actor = createActor(machine).start();
    const active = actor.getSnapshot();
    const scope = (actor as unknown as { _actorScope: unknown })._actorScope;
    const stopped = machine.transition(active, { type: 'xstate.stop' } as never, scope as never) as { status: string; output?: unknown };
    expect(stopped.output).toMatchObject({ status: 'cancelled' });
    const moved = machine.transition(active, { type: 'NEXT' }, scope as never) as { output?: unknown };
    expect(moved.output).toBeUndefined();
    const notActive = { ...active, status: 'stopped' } as typeof active;
    expect((machine.transition(notActive, { type: 'xstate.stop' } as never, scope as never) as { output?: unknown }).output).toBeUndefined();
    actor.stop();
  });

  it('wrapping twice changes nothing; provide() keeps the behaviour', async () => {
    const machine = make();
    const transition = machine.transition;
    expect(cancelledOnStop(machine)).toBe(machine);
    expect(machine.transition).toBe(transition);
    const provided = machine.provide({});
    expect(provided).not.toBe(machine);
    const actor = createActor(provided).start();
    const settled = toPromise(actor);
    actor.stop();
    expect(await settled).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
    const again = provided.provide({});
    const second = createActor(again).start();
    second.stop();
    expect(second.getSnapshot().output).toMatchObject({ status: 'cancelled' });
  });

  it('what it defines stays configurable: the machine’s transition and provide can be spied on, the output redefined', () => {
    const machine = make();
    const transition = vi.spyOn(machine, 'transition');
    const provide = vi.spyOn(machine, 'provide');
    const actor = createActor(machine).start();
    actor.send({ type: 'NEXT' });
    expect(transition).toHaveBeenCalled();
    machine.provide({});
    expect(provide).toHaveBeenCalledTimes(1);
    actor.stop();
    const snapshot = actor.getSnapshot();
    expect(Object.getOwnPropertyDescriptor(snapshot, 'output')).toMatchObject({ enumerable: true, configurable: true });
    Object.defineProperty(snapshot, 'output', { value: 'replaced' });
    expect(snapshot.output).toBe('replaced');
    transition.mockRestore();
    provide.mockRestore();
  });
});
