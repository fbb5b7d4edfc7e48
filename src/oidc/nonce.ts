import { OAuthError } from '../errors.js';
import { base64url } from '../crypto/base64url.js';
import type { Random } from '../services/types.js';

/** OIDC Core §3.1.2.1 `nonce`: 32 random bytes, base64url (43 characters), as strong as `state`. */
export function createNonce(random: Random): string {
  const bytes = random(32);
  // A broken random service must not silently yield a short or predictable nonce.
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new OAuthError('invalid_configuration', 'random(32) must return a Uint8Array of 32 bytes', { field: 'services.random' });
  }
  return base64url(bytes);
}
