import { isSecret, revealSecret } from '../secret.js';
import { isSealedTokenSet, plainTokenSet, type TokenSet } from '../tokens.js';

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of a value with every Secret and sealed TokenSet opened: for `revealSecrets: true` only.
 * Plain objects and arrays are copied (functions kept, so a snapshot's methods still work); a
 * value shared in several places stays shared in the copy; class instances are kept as they are.
 */
export function revealDeep(value: unknown, memo: Map<object, unknown> = new Map()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (isSecret(value)) return revealSecret(value);
  const known = memo.get(value);
  if (known !== undefined) return known;
  if (isSealedTokenSet(value)) {
    const plain = plainTokenSet(value as TokenSet);
    memo.set(value, plain);
    return plain;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    memo.set(value, copy);
    for (const item of value) copy.push(revealDeep(item, memo));
    return copy;
  }
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = {};
  memo.set(value, copy);
  for (const [key, item] of Object.entries(value)) copy[key] = revealDeep(item, memo);
  return copy;
}
