import { createActor, type Actor, type ActorOptions, type AnyStateMachine } from 'xstate';
import { OAuthError } from './errors.js';
import type { GrantOutput } from './grants/types.js';
import { redactingInspector, type Inspector } from './inspect/inspector.js';

export type GrantActorOptions<TMachine extends AnyStateMachine> = Omit<ActorOptions<TMachine>, 'inspect'> & {
  /** Receives every event and snapshot; secrets show as `[redacted]` unless `revealSecrets`. */
  inspect?: Inspector;
  revealSecrets?: boolean;
  /** The flow this actor runs or resumes: the same id shows both halves of a flow as one actor in the inspector. */
  flowId?: string;
};

/**
 * xstate's createActor with the inspector wrapped (see `redactingInspector`): stable session ids
 * per flow, the snapshot at registration, the callback URL redacted even when sent as a string.
 * Its `stop()` cancels first where the machine takes a `cancel` (the code grant), so the output
 * is `cancelled` rather than nothing.
 */
export function createGrantActor<TMachine extends AnyStateMachine>(machine: TMachine, options: GrantActorOptions<TMachine>): Actor<TMachine> {
  const { inspect, revealSecrets, flowId, ...rest } = options;
  const actor = createActor(machine, {
    ...rest,
    ...(inspect ? { inspect: redactingInspector(inspect, { revealSecrets: revealSecrets ?? false, ...(flowId === undefined ? {} : { flowId }) }) } : {}),
  } as ActorOptions<TMachine>);
  const stop = actor.stop.bind(actor);
  actor.stop = () => {
    const snapshot = actor.getSnapshot() as unknown as { status: string; can(event: { type: string }): boolean };
    if (snapshot.status === 'active' && snapshot.can({ type: 'cancel' })) actor.send({ type: 'cancel' } as never);
    return stop();
  };
  return actor;
}

/**
 * What a grant actor ended with, like xstate's `toPromise`, but an actor that was stopped
 * resolves `{ status: 'cancelled' }` instead of `undefined`, and every path resolves (a failed
 * flow is an output, not a rejection).
 */
export function grantOutput(actor: Actor<AnyStateMachine>): Promise<GrantOutput> {
  const cancelled = (): GrantOutput => ({ status: 'cancelled', error: new OAuthError('cancelled', 'the actor was stopped before it finished') });
  return new Promise((resolve) => {
    const settle = () => {
      const snapshot = actor.getSnapshot();
      resolve(snapshot.status === 'done' && snapshot.output ? (snapshot.output as GrantOutput) : cancelled());
    };
    if (actor.getSnapshot().status !== 'active') return settle();
    actor.subscribe({ complete: settle, error: (error) => resolve({ status: 'failed', error: error instanceof OAuthError ? error : new OAuthError('invalid_configuration', String(error), { cause: error }) }) });
  });
}
