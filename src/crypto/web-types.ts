/**
 * The WebCrypto types grantflow's public API names, declared by their shape, so that its
 * published types compile without the DOM lib (`lib: ["ES2022"]` with @types/node, as
 * oauth4webapi's do). A DOM `CryptoKey` or `JsonWebKey` is assignable to them.
 */
export interface CryptoKeyLike {
  readonly type: string;
  readonly extractable: boolean;
  readonly algorithm: { readonly name: string };
  readonly usages: readonly string[];
}

/** A WebCrypto CryptoKeyPair, by its shape (a DOM `CryptoKeyPair` is assignable to it). */
export interface CryptoKeyPairLike {
  readonly publicKey: CryptoKeyLike;
  readonly privateKey: CryptoKeyLike;
}

/** RFC 7517 JSON Web Key members (the DOM's JsonWebKey, by its shape). */
export interface JsonWebKeyLike {
  kty?: string;
  alg?: string;
  kid?: string;
  use?: string;
  key_ops?: string[];
  ext?: boolean;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  d?: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
  k?: string;
  oth?: Array<{ r?: string; d?: string; t?: string }>;
}
