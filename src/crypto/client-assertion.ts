import type { JWK } from 'jose';
import { OAuthError } from '../errors.js';
import type { CryptoKeyLike, JsonWebKeyLike } from './web-types.js';
import type { Random } from '../services/types.js';
import { base64url } from './base64url.js';

/** The smallest RSA modulus accepted for RS256 (NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048;
/** An assertion lives this long: RFC 7523 wants it short. */
export const ASSERTION_LIFETIME_S = 60;
export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type PrivateKeyInput = string | JsonWebKeyLike | CryptoKeyLike;

const invalid = (message: string, cause?: unknown) =>
  new OAuthError('invalid_configuration', `secrets.privateKey ${message}`, { field: 'secrets.privateKey', ...(cause === undefined ? {} : { cause }) });

function isCryptoKey(value: unknown): value is CryptoKey {
  return typeof value === 'object' && value !== null && 'algorithm' in value && 'type' in value && 'usages' in value;
}

function rsaBitsOfJwk(jwk: JsonWebKeyLike): number {
  return jwk.n ? Math.floor((jwk.n.length * 6) / 8) * 8 : 0;
}

/**
 * Imports the client's RS256 signing key from a PKCS#8 PEM, a private JWK or a CryptoKey, and
 * checks that it can sign: private, RSA, at least 2048 bits. Each problem says what it is.
 */
export async function importSigningKey(input: PrivateKeyInput): Promise<CryptoKey> {
  // The public types are shapes (no DOM lib needed); at run time these are WebCrypto's own.
  const key = input as string | JsonWebKey | CryptoKey;
  if (isCryptoKey(key)) {
    const algorithm = key.algorithm as RsaHashedKeyAlgorithm;
    if (key.type !== 'private') throw invalid('is a public key: give the private key');
    if (algorithm.name !== 'RSASSA-PKCS1-v1_5') throw invalid(`is a ${algorithm.name} key: RS256 needs an RSASSA-PKCS1-v1_5 key`);
    if ((algorithm.modulusLength ?? 0) < MIN_RSA_BITS) throw invalid(`is ${algorithm.modulusLength} bits: at least ${MIN_RSA_BITS} are needed`);
    if (!key.usages.includes('sign')) throw invalid('cannot be used to sign');
    return key;
  }
  if (typeof key === 'string') {
    if (!key.includes('-----BEGIN PRIVATE KEY-----')) {
      throw invalid(key.includes('BEGIN RSA PRIVATE KEY') ? 'is PKCS#1: convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)' : 'is not a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----")');
    }
    const { importPKCS8 } = await import('jose/key/import');
    let imported: CryptoKey;
    try {
      imported = await importPKCS8(key, 'RS256', { extractable: false });
    } catch (error) {
      throw invalid(`cannot be imported as an RSA key for RS256: ${(error as Error).message}`, error);
    }
    return importSigningKey(imported);
  }
  if (typeof key === 'object' && key !== null) {
    if (key.kty !== 'RSA') throw invalid(`is a ${key.kty ?? 'key without kty'} JWK: RS256 needs kty "RSA"`);
    if (!key.d) throw invalid('is a public JWK: give the private key (with "d")');
    if (rsaBitsOfJwk(key) < MIN_RSA_BITS) throw invalid(`is ${rsaBitsOfJwk(key)} bits: at least ${MIN_RSA_BITS} are needed`);
    const { importJWK } = await import('jose/key/import');
    try {
      return (await importJWK(key as JWK, 'RS256')) as CryptoKey;
    } catch (error) {
      throw invalid(`cannot be imported: ${(error as Error).message}`, error);
    }
  }
  throw invalid('must be a PKCS#8 PEM string, a JWK or a CryptoKey');
}

export interface AssertionClaims {
  clientId: string;
  audience: string;
  now: number;
  random: Random;
  keyId?: string;
}

/** An RFC 7523 client assertion: iss = sub = client id, aud, a unique jti, iat, exp 60 s ahead. */
export async function signClientAssertion(key: CryptoKey, claims: AssertionClaims): Promise<string> {
  const { SignJWT } = await import('jose/jwt/sign');
  const iat = Math.floor(claims.now / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(claims.keyId ? { kid: claims.keyId } : {}) })
    .setIssuer(claims.clientId)
    .setSubject(claims.clientId)
    .setAudience(claims.audience)
    .setJti(base64url(claims.random(16)))
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_S)
    .sign(key);
}
