/** DPoP (RFC 9449): key pairs, proofs and nonces. Pure and injectable; the grants wire them in. */
export {
  DPOP_ALGS,
  dpopAlgOf,
  dpopJkt,
  generateDpopKeyPair,
  jwkThumbprint,
  loadOrCreateDpopKeyPair,
  publicJwkOf,
  type DpopAlg,
  type DpopKeyOptions,
  type PublicJwk,
} from './key-pair.js';
export { createDpopProof, htuOf, type DpopProofOptions } from './proof.js';
export {
  createDpopNonceStore,
  dpopNonceOf,
  isDpopNonce,
  isDpopNonceError,
  parseWwwAuthenticate,
  type AuthChallenge,
  type DpopNonceStore,
  type HeadersLike,
  type NonceErrorResponse,
} from './nonce.js';
export type { CryptoKeyPairLike } from '../crypto/web-types.js';
