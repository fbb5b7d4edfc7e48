import type { Storage } from '../../src/services/types.js';
import { transition, waitFor, type AnyActorRef, type AnyMachineSnapshot, type AnyStateMachine, type AnyStateNode, type EventObject } from 'xstate';
import type { StatePath } from 'xstate/graph';

/**
 * Coverage of a machine by generated paths, derived from the machine's own definition, so a
 * state or transition added to a machine and left uncovered fails its model test.
 */

function stateNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...(Object.values(node.states) as AnyStateNode[]).flatMap(stateNodes)];
}

const transitionKey = (sourceId: string, eventType: string, targetIds: string[]) => `${sourceId} --${eventType}--> ${targetIds.join(',') || sourceId}`;

/** Every state node (the root excepted) and every transition of every state node, guarded branches one by one. */
export function machineGraph(machine: AnyStateMachine): { states: string[]; transitions: string[] } {
  const nodes = stateNodes(machine.root).filter((node) => node !== machine.root);
  const transitions = stateNodes(machine.root).flatMap((node) =>
    [...node.transitions.entries()].flatMap(([eventType, definitions]) =>
      definitions.map((definition) => transitionKey(node.id, eventType, (definition.target ?? []).map((t: AnyStateNode) => t.id))),
    ),
  );
  return { states: nodes.map((node) => node.id), transitions: [...new Set(transitions)] };
}

/** The state nodes a snapshot is in, by id (ancestors included). */
function activeStateIds(machine: AnyStateMachine, snapshot: AnyMachineSnapshot): string[] {
  return stateNodes(machine.root)
    .filter((node) => node !== machine.root && snapshot.matches(node.path.join('.') as never))
    .map((node) => node.id);
}

/** What the paths visit: state ids, and transitions as the machine itself selects them for each step's event. */
export function pathCoverage<TSnapshot extends AnyMachineSnapshot, TEvent extends EventObject>(
  machine: AnyStateMachine,
  paths: Array<StatePath<TSnapshot, TEvent>>,
): { states: Set<string>; transitions: Set<string> } {
  const states = new Set<string>();
  const transitions = new Set<string>();
  for (const path of paths) {
    for (const [index, step] of path.steps.entries()) {
      for (const id of activeStateIds(machine, step.state)) states.add(id);
      const previous = path.steps[index - 1]?.state;
      if (!previous) continue;
      for (const definition of machine.getTransitionData(previous, step.event)) {
        transitions.add(transitionKey(definition.source.id, definition.eventType, (definition.target ?? []).map((t: AnyStateNode) => t.id)));
      }
    }
    for (const id of activeStateIds(machine, path.state)) states.add(id);
  }
  return { states, transitions };
}

export interface CoverageReport {
  line: string;
  missingStates: string[];
  missingTransitions: string[];
}

export function coverageReport(name: string, machine: AnyStateMachine, covered: { states: Set<string>; transitions: Set<string> }, pathCount: number): CoverageReport {
  const all = machineGraph(machine);
  const missingStates = all.states.filter((s) => !covered.states.has(s));
  const missingTransitions = all.transitions.filter((t) => !covered.transitions.has(t));
  return {
    line: `${name} model: ${all.states.length - missingStates.length}/${all.states.length} states, ${all.transitions.length - missingTransitions.length}/${all.transitions.length} transitions covered by ${pathCount} replayed paths`,
    missingStates,
    missingTransitions,
  };
}

/** A plain, comparable form of a snapshot's state value. */
export const valueOf = (snapshot: { value: unknown }) => JSON.stringify(snapshot.value);

/**
 * Path generators stop at states they have seen, so a transition back to a visited state (a
 * poll loop) is in no generated path. This adds, for every shortest path, one path per enabled
 * event that leaves its last state: together they take every transition reachable.
 */
export function withEdgePaths<TSnapshot extends AnyMachineSnapshot, TEvent extends EventObject>(
  machine: AnyStateMachine,
  shortest: Array<StatePath<TSnapshot, TEvent>>,
  events: (snapshot: TSnapshot) => readonly TEvent[],
): Array<StatePath<TSnapshot, TEvent>> {
  const extended: Array<StatePath<TSnapshot, TEvent>> = [];
  for (const path of shortest) {
    if (path.state.status !== 'active') continue;
    for (const event of events(path.state)) {
      if (machine.getTransitionData(path.state, event).length === 0) continue;
      const [next] = transition(machine, path.state, event);
      extended.push({ state: next as TSnapshot, steps: [...path.steps, { event, state: next as TSnapshot }], weight: path.weight + 1 });
    }
  }
  return extended;
}

/** The path's states in order, each once per stay (what an actor subscribed to it will see). */
export function expectedValues(steps: ReadonlyArray<{ state: { value: unknown } }>): string[] {
  return steps.map((s) => valueOf(s.state)).filter((v, i, all) => v !== all[i - 1]);
}

export interface ReplayOptions<TEvent extends EventObject> {
  /** The event types the test produces itself (outside events, delays it moves a clock for). */
  driven?: readonly string[];
  /**
   * Called for each driven step of the path, in order: sends the event, or moves a clock, once
   * `atSource()` resolves (the actor is where the path takes that step). The other steps are the
   * actor's own actors and delays at work.
   */
  drive?: (event: TEvent, atSource: () => Promise<void>) => Promise<void>;
  timeoutMs?: number;
}

/**
 * Replays a generated path on a real actor: starts it, drives the outside events, and resolves
 * with its snapshot once it has gone through the path's states in order; rejects, naming what it
 * visited, when it does not.
 */
export async function replayPath<TEvent extends EventObject>(
  actor: AnyActorRef,
  path: { steps: ReadonlyArray<{ event: TEvent; state: { value: unknown } }> },
  options: ReplayOptions<TEvent> = {},
): Promise<AnyMachineSnapshot> {
  const timeout = options.timeoutMs ?? 3000;
  const expected = expectedValues(path.steps);
  const visited: string[] = [];
  let cursor = 0;
  actor.subscribe((snapshot: AnyMachineSnapshot) => {
    visited.push(valueOf(snapshot));
    if (valueOf(snapshot) === expected[cursor]) cursor++;
  });
  const fail = () => new Error(`visited ${visited.join(' ')}; expected ${expected.join(' ')}`);
  actor.start();
  try {
    for (const [index, step] of path.steps.entries()) {
      if (!options.driven?.includes(step.event.type)) continue;
      const position = expectedValues(path.steps.slice(0, index)).length;
      const atSource = () =>
        waitFor(actor, (s: AnyMachineSnapshot) => cursor >= position && valueOf(s) === expected[position - 1], { timeout }).then(
          () => undefined,
          () => Promise.reject(fail()),
        );
      await options.drive?.(step.event, atSource);
    }
    await waitFor(actor, () => cursor >= expected.length, { timeout }).catch(() => Promise.reject(fail()));
    return actor.getSnapshot() as AnyMachineSnapshot;
  } finally {
    actor.stop();
  }
}

/** A path that ends in a final state: the actor ends there too, with the same status and error code. */
export function expectSameEnd(end: AnyMachineSnapshot, pathEnd: AnyMachineSnapshot, expect: (value: unknown) => { toBe(expected: unknown): void }): void {
  if (pathEnd.status !== 'done') return;
  expect(valueOf(end)).toBe(valueOf(pathEnd));
  const want = pathEnd.output as { status: string; error?: { code: string } };
  const got = end.output as { status: string; error?: { code: string } };
  expect(got.status).toBe(want.status);
  expect(got.error?.code).toBe(want.error?.code);
}

/** A token endpoint that answers with these responses in order, then never answers (until aborted). */
export function scriptedHttp(script: Response[]) {
  return async (_url: unknown, init?: RequestInit): Promise<Response> =>
    script.shift() ?? new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
}

type StorageMethod = 'get' | 'set' | 'delete' | 'setIfAbsent' | 'deleteIfEquals';

/** A storage over `inner` whose methods fail for the keys a path says they fail for. */
export function failingStorage(inner: Storage, fails: Partial<Record<StorageMethod, (key: string) => boolean>>): Storage {
  const guard = (method: StorageMethod, key: string) => {
    if (fails[method]?.(key)) throw new Error(`${method} failed`);
  };
  return {
    get: async (k) => (guard('get', k), inner.get(k)),
    set: async (k, v, o) => (guard('set', k), inner.set(k, v, o)),
    delete: async (k) => (guard('delete', k), inner.delete(k)),
    setIfAbsent: async (k, v, t) => (guard('setIfAbsent', k), inner.setIfAbsent!(k, v, t)),
    deleteIfEquals: async (k, v) => (guard('deleteIfEquals', k), inner.deleteIfEquals!(k, v)),
  };
}
