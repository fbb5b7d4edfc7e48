import { createActor, type Actor, type ActorOptions, type AnyStateMachine } from 'xstate';
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
 */
export function createGrantActor<TMachine extends AnyStateMachine>(machine: TMachine, options: GrantActorOptions<TMachine>): Actor<TMachine> {
  const { inspect, revealSecrets, flowId, ...rest } = options;
  return createActor(machine, {
    ...rest,
    ...(inspect ? { inspect: redactingInspector(inspect, { revealSecrets: revealSecrets ?? false, ...(flowId === undefined ? {} : { flowId }) }) } : {}),
  } as ActorOptions<TMachine>);
}
