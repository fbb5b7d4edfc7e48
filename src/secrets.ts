import type { ClientAuthMethod } from './provider/schema.js';
import type { CryptoKeyLike, JsonWebKeyLike } from './crypto/web-types.js';
/**
 * Secrets are never machine input (a persisted snapshot must not hold them): they are injected
 * with the services, and only the grant that needs one is given it.
 */
export interface ClientSecrets {
  clientSecret?: string;
  /** PKCS#8 PEM, a JWK, or a CryptoKey (private_key_jwt). */
  privateKey?: string | JsonWebKeyLike | CryptoKeyLike;
  /** `kid` header of signed client assertions. */
  keyId?: string;
  /** A gateway API key, sent where the provider's `apiKey` rule says (POEMS). */
  apiKey?: string;
}

/** Who the client is. Data only: it travels in machine input and persisted snapshots. */
export interface ClientConfig {
  clientId: string;
  /** Sent byte-for-byte as registered. */
  redirectUri?: string;
  /** Sent as User-Agent on token requests (Path of Exile requires `OAuth {clientId}/{version} (contact: {contact})`). */
  userAgent?: string;
  /**
   * Which client authentication to use when the provider allows several (a server that takes both
   * client_secret_basic and client_secret_post); default: the provider's first that the secrets fit.
   */
  authMethod?: ClientAuthMethod;
}
