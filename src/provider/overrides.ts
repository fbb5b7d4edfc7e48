import type { ProviderInput } from './schema.js';

/** Every field optional, all the way down; arrays are replaced whole. */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/**
 * What the metadata does not say (default scopes, `token.response.keep`, `headers`, a `userAgent`
 * rule …) or what the app knows better. Merged over the discovered data: objects field by field,
 * arrays and values replaced. `issuer` cannot be overridden (it is what was asked for and checked);
 * `id` and `name` are options of their own.
 */
export type ProviderOverrides = DeepPartial<Omit<ProviderInput, 'id' | 'name' | 'issuer'>>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Overrides over the discovered data: objects merged field by field, everything else replaced; undefined is skipped. */
export function mergeOverrides(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = mergeOverrides(base[key], value);
  return out;
}
