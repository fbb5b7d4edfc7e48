import type { InspectionEvent } from 'xstate';

/** Serialises an inspection event the way an inspector would, following everything but live actor refs. */
export function serialise(event: InspectionEvent): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(event, (key, value: unknown) => {
    if (key === 'actorRef' || key === 'sourceRef') return '[actor]';
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[circular]';
      seen.add(value);
    }
    return value;
  });
}
