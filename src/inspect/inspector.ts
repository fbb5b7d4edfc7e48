import type { InspectionEvent, Observer } from 'xstate';
import { redactValue } from './redact.js';

/** What `inspect` accepts: a function, or an observer such as `@statelyai/inspect`'s `inspector.inspect`. */
export type Inspector = ((event: InspectionEvent) => void) | Partial<Observer<InspectionEvent>>;

export interface InspectOptions {
  /** Show secrets unredacted. Off by default; only for local debugging. */
  revealSecrets?: boolean;
}

/** Fields of an inspection event that are references, kept as they are so inspectors can follow actors. */
const PASS_THROUGH = new Set(['type', 'actorRef', 'sourceRef', 'rootId']);

/** A copy of an inspection event with every secret replaced by `[redacted]`. */
export function redactInspectionEvent(event: InspectionEvent): InspectionEvent {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (PASS_THROUGH.has(key)) copy[key] = value;
    else if (key === '_transitions') continue; // transition definitions hold functions, not data
    else copy[key] = redactValue(value);
  }
  return copy as unknown as InspectionEvent;
}

/** Wraps an inspector so that it only ever sees redacted events (unless the caller opts out). */
export function redactingInspector(inspector: Inspector, options: InspectOptions = {}): (event: InspectionEvent) => void {
  const next = typeof inspector === 'function' ? inspector : inspector.next?.bind(inspector);
  return (event) => {
    if (!next) return;
    next(options.revealSecrets ? event : redactInspectionEvent(event));
  };
}
