import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** Readable label of an internal event type: `done prepareAuthorization`, `after codeLifetime`. */
function eventLabel(eventType: string): string {
  const done = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (done) return `done ${done[1]}`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (error) return `error ${error[1]}`;
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  return eventType;
}

/**
 * A Mermaid state diagram generated from a machine's own definition (so the docs cannot drift
 * from the code): every state, and every transition with its event, guard and actions.
 */
export function machineToMermaid(machine: AnyStateMachine): string {
  const lines = ['stateDiagram-v2', `  [*] --> ${machine.root.initial?.target[0]?.key ?? '?'}`];
  const visit = (node: AnyStateNode) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      for (const [eventType, transitions] of child.transitions) {
        for (const transition of transitions) {
          const guard = transition.guard ? ` [${typeof transition.guard === 'string' ? transition.guard : (transition.guard as { type?: string }).type ?? 'guard'}]` : '';
          const actions = transition.actions
            .map((action: unknown) => (typeof action === 'string' ? action : (action as { type?: string }).type))
            .filter(Boolean);
          const suffix = actions.length > 0 ? ` / ${actions.join(', ')}` : '';
          for (const target of transition.target ?? [child]) {
            lines.push(`  ${child.key} --> ${target.key} : ${eventLabel(eventType)}${guard}${suffix}`);
          }
        }
      }
      if (child.type === 'final') lines.push(`  ${child.key} --> [*]`);
      for (const invoke of child.invoke) lines.push(`  ${child.key} : invoke ${typeof invoke.src === 'string' ? invoke.src : invoke.id}`);
    }
  };
  visit(machine.root);
  // Transitions of the machine itself apply in every state.
  for (const [eventType, transitions] of machine.root.transitions) {
    for (const transition of transitions) {
      for (const target of transition.target ?? []) lines.push(`  note right of ${target.key} : entered on ${eventLabel(eventType)} from any state`);
    }
  }
  return lines.join('\n');
}
