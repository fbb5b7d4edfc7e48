/**
 * Secret: an opaque string for machine context, actor input and output, and events. Its JSON,
 * its string form and its console form are `[redacted]`, and it holds no own property, so no
 * serializer, inspector, log or error message can print the value, whatever key it sits under.
 * Only grantflow's own actors read it back (`revealSecret`), to send it or to persist it on purpose.
 */
export const REDACTED = '[redacted]';

const values = new WeakMap<Secret, string>();
const nodeInspect = Symbol.for('nodejs.util.inspect.custom');

export class Secret {
  private constructor() {}

  /** Wraps a value; the value is kept beside the object, never on it. */
  static of(value: string): Secret {
    const secret = new Secret();
    values.set(secret, value);
    return Object.freeze(secret);
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [nodeInspect](): string {
    return REDACTED;
  }

  get [Symbol.toStringTag](): string {
    return 'Secret';
  }
}

/** A secret value for machine events, e.g. `actor.send({ type: 'callback', url: secret(callbackUrl) })`. */
export const secret = (value: string): Secret => Secret.of(value);

export function isSecret(value: unknown): value is Secret {
  // A WeakMap answers false for anything that is not one of its keys, primitives included.
  return values.has(value as Secret);
}

/** The value of a secret (a plain string passes through). Internal: for the actors that send or persist it. */
export function revealSecret(value: Secret | string): string {
  if (typeof value === 'string') return value;
  const revealed = values.get(value);
  if (revealed === undefined) throw new TypeError('not a grantflow Secret');
  return revealed;
}
