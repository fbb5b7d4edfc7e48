import { OAuthError } from '../errors.js';
import type { PkceMethod } from '../provider/schema.js';
import type { Random } from '../services/types.js';
import { base64url } from './base64url.js';
import { sha256 } from './sha256.js';

export interface PkcePair {
  verifier: string;
  challenge: string;
  method: PkceMethod;
}

/** RFC 7636 §4.1-4.2: a 43-character verifier from 32 random bytes, and its challenge. */
export async function createPkcePair(random: Random, method: PkceMethod = 'S256'): Promise<PkcePair> {
  const verifier = base64url(randomBytes(random, 32));
  return { verifier, challenge: await codeChallenge(verifier, method), method };
}

export async function codeChallenge(verifier: string, method: PkceMethod): Promise<string> {
  return method === 'plain' ? verifier : base64url(await sha256(verifier));
}

/** `state`: 32 random bytes, base64url. */
export function createState(random: Random): string {
  return base64url(randomBytes(random, 32));
}

function randomBytes(random: Random, count: number): Uint8Array {
  const bytes = random(count);
  if (!(bytes instanceof Uint8Array) || bytes.length !== count) {
    throw new OAuthError('invalid_configuration', `random(${count}) must return a Uint8Array of ${count} bytes`, { field: 'services.random' });
  }
  return bytes;
}

/** Constant-time comparison of two strings (for `state`): the time taken does not reveal where they differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i % (y.length || 1)] ?? 0);
  return diff === 0;
}
