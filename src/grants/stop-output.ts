import type { AnyStateMachine } from 'xstate';
import { OAuthError } from '../errors.js';
import type { GrantOutput } from './types.js';

const marked = new WeakSet<AnyStateMachine>();

function stoppedOutput(): GrantOutput {
  return { status: 'cancelled', error: new OAuthError('cancelled', 'the actor was stopped before it finished') };
}

/**
 * A grant machine whose actors end with the `cancelled` output when they are stopped while still
 * running, so that xstate's own `toPromise(actor)` resolves `{ status: 'cancelled' }` after
 * `actor.stop()` instead of `undefined`. xstate runs a stop through `machine.transition` (the
 * `xstate.stop` event, snapshot status `stopped`), which is the one place this can be said; the
 * machines stay plain `setup().createMachine()` configs, and `.provide()` keeps the behaviour.
 */
export function cancelledOnStop<TMachine extends AnyStateMachine>(machine: TMachine): TMachine {
  if (marked.has(machine)) return machine;
  const transition = machine.transition.bind(machine);
  const provide = machine.provide.bind(machine);
  Object.defineProperties(machine, {
    transition: {
      configurable: true,
      value: (snapshot: { status: string }, event: { type: string }, scope: unknown) => {
        const next = (transition as (...args: unknown[]) => { status: string; output?: unknown })(snapshot, event, scope);
        if (event.type !== 'xstate.stop' || snapshot.status !== 'active' || next.output !== undefined) return next;
        // Made when first read: a stop nobody awaits (the facade parks each started flow) costs no error.
        let output: GrantOutput | undefined;
        return Object.defineProperty(next, 'output', { enumerable: true, configurable: true, get: () => (output ??= stoppedOutput()) });
      },
    },
    provide: { configurable: true, value: (implementations: never) => cancelledOnStop(provide(implementations) as TMachine) },
  });
  marked.add(machine);
  return machine;
}
