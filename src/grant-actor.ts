import { createActor, type Actor, type ActorOptions, type AnyStateMachine } from 'xstate';
import { redactingInspector, type Inspector } from './inspect/inspector.js';

export type GrantActorOptions<TMachine extends AnyStateMachine> = Omit<ActorOptions<TMachine>, 'inspect'> & {
  /** Receives every event and snapshot, secrets redacted unless `revealSecrets`. */
  inspect?: Inspector;
  revealSecrets?: boolean;
};

/**
 * xstate's createActor, with the inspector seeing secrets as `[redacted]` by default: the way to
 * run a grant machine directly with the Stately inspector attached.
 */
export function createGrantActor<TMachine extends AnyStateMachine>(machine: TMachine, options: GrantActorOptions<TMachine>): Actor<TMachine> {
  const { inspect, revealSecrets, ...rest } = options;
  return createActor(machine, {
    ...rest,
    ...(inspect ? { inspect: redactingInspector(inspect, { revealSecrets: revealSecrets ?? false }) } : {}),
  } as ActorOptions<TMachine>);
}
