/**
 * Redaction of values before an inspector (the Stately inspector, a log, any function) sees them.
 * Keys that hold secrets are replaced by `[redacted]`, and so are secret query parameters inside
 * URLs (the callback URL carries the code).
 */
export const REDACTED = '[redacted]';

const SECRET_KEYS = new Set(
  [
    'code',
    'codeVerifier',
    'code_verifier',
    'clientSecret',
    'client_secret',
    'accessToken',
    'access_token',
    'refreshToken',
    'refresh_token',
    'api_key',
    'id_token',
    'privateKey',
    'client_assertion',
    'assertion',
    'authorization',
    'password',
  ].map((k) => k.toLowerCase()),
);

const SECRET_PARAMS = /([?&#](?:code|code_verifier|access_token|refresh_token|id_token|client_secret|client_assertion)=)[^&#\s"']*/g;

export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase());
}

export function redactString(text: string): string {
  return text.replace(SECRET_PARAMS, `$1${REDACTED}`);
}

function isActorRef(value: object): boolean {
  return 'sessionId' in value && typeof (value as { send?: unknown }).send === 'function';
}

/** A JSON-safe, redacted copy: plain objects and arrays are walked, class instances use toJSON(), actors become their ids. */
export function redactValue(value: unknown, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (isActorRef(value)) {
    const ref = value as { id?: string; sessionId: string };
    return { id: ref.id, sessionId: ref.sessionId };
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, seen));
  const toJSON = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof toJSON === 'function' && !(value instanceof Date)) {
    const json = toJSON.call(value);
    if (json !== value) return redactValue(json, seen);
  }
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'function') continue;
    out[key] = isSecretKey(key) && item !== undefined && item !== null ? REDACTED : redactValue(item, seen);
  }
  return out;
}
