import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import { isSecret, revealSecret, type Secret } from '../secret.js';
import { redactCallbackUrl } from './callback-url.js';
import { revealDeep } from './reveal.js';

/** What `inspect` accepts: a function, or an observer such as `@statelyai/inspect`'s `inspector.inspect`. */
export type Inspector = ((event: InspectionEvent) => void) | Partial<Observer<InspectionEvent>>;

export interface InspectOptions {
  /** Show secrets unredacted. Off by default; only for local debugging. */
  revealSecrets?: boolean;
  /**
   * The flow this actor runs: the root actor is shown under the session id `<machine id>:<flowId>`,
   * so a flow started by one actor and completed by another (another request, process or page)
   * is one actor session in the inspector. Default: a random id per actor.
   */
  flowId?: string;
}

/** An inspector wrapped for one actor run; see `redactingInspector`. */
export interface InspectionHandle {
  (event: InspectionEvent): void;
  /** The root actor is being stopped to resume elsewhere (a pending flow): its stop is not shown, the flow goes on. */
  park(): void;
}

/**
 * Resolves once every idle callback queued before it has run: @statelyai/inspect builds and sends
 * its messages in such callbacks, so after this the inspector has been handed everything so far.
 */
export function inspectionSettled(): Promise<void> {
  return new Promise((resolve) => {
    const w = (globalThis as { window?: { requestIdleCallback?: (cb: () => void) => void; requestAnimationFrame?: (cb: () => void) => void } }).window;
    if (w) (w.requestIdleCallback ?? w.requestAnimationFrame ?? ((cb: () => void) => setTimeout(cb, 0)))(() => resolve());
    else setTimeout(resolve, 0);
  });
}

const randomHex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');

interface ActorInternals {
  sessionId: string;
  id: string;
  _parent?: AnyActorRef;
  logic?: { id?: string };
  getSnapshot(): unknown;
}

/**
 * Wraps an inspector for one actor run. Secrets need no redaction here: grantflow's machines
 * hold them as `Secret`s and sealed TokenSets, which no serializer can print. What this adds:
 * - every actor reference is handed over as a view whose session id is stable for the flow
 *   (`flowId`); with `@xstate.actor`, its `getSnapshot()` is the snapshot the actor had when it
 *   registered (inspectors read it later, on an idle callback);
 * - a `callback` event's URL is shown with every parameter value but the public ones redacted, even
 *   when the app sent it as a plain string;
 * - with `revealSecrets`, copies with every secret opened.
 */
export function redactingInspector(inspector: Inspector, options: InspectOptions = {}): InspectionHandle {
  const next = typeof inspector === 'function' ? inspector : inspector.next?.bind(inspector);
  const reveal = options.revealSecrets ?? false;
  const flowId = options.flowId ?? randomHex(16);
  // Children of one run get session ids of their own, distinct from those of a run that resumes the flow elsewhere.
  const run = randomHex(3);
  const views = new WeakMap<AnyActorRef, AnyActorRef>();
  const registered = new WeakMap<AnyActorRef, unknown>();
  let parked = false;

  const present = (value: unknown) => (reveal ? revealDeep(value) : value);

  function rootOf(ref: AnyActorRef): AnyActorRef {
    let root = ref;
    while ((root as unknown as ActorInternals)._parent) root = (root as unknown as ActorInternals)._parent!;
    return root;
  }

  function viewOf(ref: AnyActorRef | undefined): AnyActorRef | undefined {
    if (!ref) return undefined;
    const known = views.get(ref);
    if (known) return known;
    const actor = ref as unknown as ActorInternals;
    const parent = viewOf(actor._parent);
    const machineId = actor.logic?.id ?? 'actor';
    const sessionId = parent ? `${rootView(ref).sessionId}/${run}:${actor.sessionId}` : `${machineId}:${flowId}`;
    const view = Object.create(ref, {
      sessionId: { value: sessionId, enumerable: true },
      id: { value: actor.id === actor.sessionId ? sessionId : actor.id, enumerable: true },
      _parent: { value: parent },
      getSnapshot: { value: () => present(actor.getSnapshot()) },
    }) as AnyActorRef;
    views.set(ref, view);
    return view;
  }

  /** The view handed over with `@xstate.actor`: its snapshot is the one the actor had when it registered. */
  const registrationView = (ref: AnyActorRef) =>
    Object.create(viewOf(ref)!, {
      getSnapshot: { value: () => present(registered.get(ref) ?? ref.getSnapshot()) },
    }) as AnyActorRef;

  const rootView = (ref: AnyActorRef) => viewOf(rootOf(ref))!;

  function presentEvent(event: unknown): unknown {
    const e = event as { type?: unknown; url?: unknown } | undefined;
    if (e && e.type === 'callback' && (typeof e.url === 'string' || isSecret(e.url))) {
      const url = revealSecret(e.url as string | Secret);
      return { ...present(e) as object, url: reveal ? url : redactCallbackUrl(url) };
    }
    return present(event);
  }

  const handle = ((event: InspectionEvent) => {
    if (!next) return;
    const ref = event.actorRef as AnyActorRef;
    // An actor's snapshot exists from its first event after registration (reading it earlier throws).
    if (event.type !== '@xstate.actor' && !registered.has(ref)) registered.set(ref, ref.getSnapshot());
    const isRootStop = parked && (event.actorRef as unknown as ActorInternals)._parent === undefined && (event as { event?: { type?: string } }).event?.type === 'xstate.stop';
    if (isRootStop) return;
    const copy: Record<string, unknown> = { ...event, actorRef: event.type === '@xstate.actor' ? registrationView(ref) : viewOf(ref), rootId: rootView(ref).sessionId };
    if ('sourceRef' in event) copy.sourceRef = viewOf(event.sourceRef as AnyActorRef | undefined);
    if ('event' in event) copy.event = presentEvent(event.event);
    if ('snapshot' in event) copy.snapshot = present(event.snapshot);
    if (event.type === '@xstate.action') copy.action = present(event.action);
    next(copy as unknown as InspectionEvent);
  }) as InspectionHandle;
  handle.park = () => {
    parked = true;
  };
  return handle;
}
