import { base64url } from '../crypto/base64url.js';
import type { CryptoKeyPairLike } from '../crypto/web-types.js';
import { OAuthError } from '../errors.js';
import type { Random } from '../services/types.js';
import { dpopAlgOf, publicJwkOf, type DpopAlg } from './key-pair.js';
import { isDpopNonce } from './nonce.js';

export interface DpopProofOptions {
  /** The request's HTTP method; fetch's own six (get, post…) are upper-cased as fetch does. */
  method: string;
  /** The request URL; the proof's `htu` is it without query and fragment. */
  url: string | URL;
  /** The latest DPoP-Nonce from this server (RFC 9449 §8, §9). */
  nonce?: string;
  /** On a request to a resource server: the access token, hashed into `ath`. */
  accessToken?: string;
  /** Epoch milliseconds (the injected clock). */
  now: number;
  random: Random;
  /** Default: the key's own algorithm. */
  alg?: DpopAlg;
}

const invalid = (field: string, message: string, cause?: unknown) =>
  new OAuthError('invalid_configuration', `${field} ${message}`, { field, ...(cause === undefined ? {} : { cause }) });

/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** The methods fetch normalises to upper case (Fetch §2.2.1): the proof must name the method sent. */
const NORMALISED = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/**
 * The `htu` of a request URL (RFC 9449 §4.2): scheme, authority and path, no query, no fragment,
 * and no userinfo (not part of an HTTP target URI). The WHATWG URL parser does RFC 3986's syntax-
 * and scheme-based normalisation (lower-case scheme and host, no default port, "/" for an empty
 * path, dot segments removed), as jose and oauth4webapi rely on.
 */
export function htuOf(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('dpop.url', 'must be an absolute URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw invalid('dpop.url', 'must be an http(s) URL');
  parsed.search = '';
  parsed.hash = '';
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/**
 * A DPoP proof JWT (RFC 9449 §4.2) for one request: header typ `dpop+jwt`, the key's alg and its
 * public JWK; claims jti (16 random bytes), htm, htu, iat, and ath and nonce when given.
 */
export async function createDpopProof(keyPair: CryptoKeyPairLike, options: DpopProofOptions): Promise<string> {
  const { privateKey, publicKey } = keyPair ?? ({} as Partial<CryptoKeyPairLike>);
  if (privateKey?.type !== 'private' || !privateKey.usages.includes('sign')) throw invalid('dpop.keyPair', 'needs a private key that can sign');
  const keyAlg = dpopAlgOf(privateKey);
  if (keyAlg === undefined) throw invalid('dpop.keyPair', `is a ${privateKey.algorithm.name} key: DPoP needs ES256, ES384, RS256, PS256 or EdDSA`);
  if (publicKey?.type !== 'public' || dpopAlgOf(publicKey) !== keyAlg) throw invalid('dpop.keyPair', 'needs the public key of the same pair');
  const alg = options.alg ?? keyAlg;
  if (alg !== keyAlg) throw invalid('dpop.alg', `is ${alg}, but the key signs ${keyAlg}`);

  const given = typeof options.method === 'string' ? options.method : '';
  const method = NORMALISED.has(given.toUpperCase()) ? given.toUpperCase() : given;
  if (!TOKEN.test(method)) throw invalid('dpop.method', 'must be an HTTP method');
  if (!Number.isFinite(options.now)) throw invalid('dpop.now', 'must be epoch milliseconds');
  const claims: Record<string, string> = { htm: method, htu: htuOf(options.url) };
  if (options.accessToken !== undefined) {
    if (typeof options.accessToken !== 'string' || options.accessToken.length === 0) throw invalid('dpop.accessToken', 'must be a non-empty string');
    // Access tokens are ASCII (RFC 6750 b64token), so UTF-8 is their ASCII octets (RFC 9449 §4.2).
    claims.ath = base64url(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(options.accessToken))));
  }
  if (options.nonce !== undefined) {
    if (!isDpopNonce(options.nonce)) throw invalid('dpop.nonce', 'must be a DPoP nonce (1*NQCHAR)');
    claims.nonce = options.nonce;
  }

  const jti = base64url(options.random(16));
  const jwk = await publicJwkOf(publicKey);
  const { SignJWT } = await import('jose/jwt/sign');
  try {
    return await new SignJWT(claims)
      .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk })
      .setJti(jti)
      .setIssuedAt(Math.floor(options.now / 1000))
      .sign(privateKey as CryptoKey);
  } catch (error) {
    throw invalid('dpop.keyPair', `cannot sign the DPoP proof: ${(error as Error).message}`, error);
  }
}
