import type { CryptoKeyPairLike } from '../crypto/web-types.js';
import type { DpopNonceStore } from '../dpop/nonce.js';
import type { JwksCache } from '../oidc/jwks.js';
import type { Provider } from '../provider/schema.js';
import type { RawResponse } from '../provider/token-response.js';
import type { TokenRequest } from '../provider/token-request.js';
import type { ClientConfig } from '../secrets.js';
import { sendRequest } from '../services/send.js';
import type { Services } from '../services/types.js';
import { dpopKeyKey } from './storage-keys.js';

/**
 * What the grants of one client share beyond the services: the issuer's signing keys (OpenID
 * Connect) and the DPoP state (the client's key pair and the servers' nonces). Made once per
 * storage and http (see grantSession), lazily, and the code of each part is imported only when it
 * is first used: an app whose providers have no `openid` or `dpop` data never downloads it.
 */
export interface GrantSession {
  jwks(): Promise<JwksCache>;
  dpop(): Promise<DpopSession>;
}

export interface DpopSession {
  readonly nonces: DpopNonceStore;
  /** The client's DPoP key pair, loaded from (or created in) the storage once. */
  keyPair(provider: Provider, client: ClientConfig): Promise<CryptoKeyPairLike>;
  proof: typeof import('../dpop/proof.js').createDpopProof;
  isNonceError: typeof import('../dpop/nonce.js').isDpopNonceError;
}

/**
 * By storage, then by http: every machine a client provides (and the facade itself) resolves its
 * own services object, but they share these two, so a client's grants share one session — the
 * nonce its code exchange learned is sent on its first refresh, its JWKS is fetched once.
 */
const sessions = new WeakMap<object, WeakMap<object, GrantSession>>();

export function grantSession(services: Services): GrantSession {
  let byHttp = sessions.get(services.storage);
  if (!byHttp) sessions.set(services.storage, (byHttp = new WeakMap()));
  let session = byHttp.get(services.http);
  if (session) return session;
  let jwks: Promise<JwksCache> | undefined;
  let dpop: Promise<DpopSession> | undefined;
  session = {
    jwks: () => (jwks ??= import('../oidc/jwks.js').then(({ createJwksCache }) => createJwksCache(services))),
    dpop: () => (dpop ??= createDpopSession(services)),
  };
  byHttp.set(services.http, session);
  return session;
}

async function createDpopSession(services: Services): Promise<DpopSession> {
  const [{ loadOrCreateDpopKeyPair }, { createDpopNonceStore, isDpopNonceError }, { createDpopProof }] = await Promise.all([
    import('../dpop/key-pair.js'),
    import('../dpop/nonce.js'),
    import('../dpop/proof.js'),
  ]);
  const keyPairs = new Map<string, Promise<CryptoKeyPairLike>>();
  return {
    nonces: createDpopNonceStore(),
    keyPair(provider, client) {
      const key = dpopKeyKey(provider.id, client.clientId);
      let pair = keyPairs.get(key);
      if (!pair) {
        pair = loadOrCreateDpopKeyPair(services.storage, key, { alg: dpopAlgFor(provider) });
        // A failure (storage down) is not kept: the next request tries again.
        pair.catch(() => keyPairs.delete(key));
        keyPairs.set(key, pair);
      }
      return pair;
    },
    proof: createDpopProof,
    isNonceError: isDpopNonceError,
  };
}

/** The first of the server's DPoP algorithms (provider.dpop.algs). */
function dpopAlgFor(provider: Provider): NonNullable<Provider['dpop']>['algs'][number] {
  return provider.dpop!.algs[0]!;
}

/**
 * Sends a request to the provider, with a DPoP proof where the provider's data says DPoP
 * (RFC 9449 §5): the proof is made for this very request (method and URL), with the server's
 * latest nonce. A `use_dpop_nonce` refusal (§8, §9) is answered once with the nonce it gave: the
 * server refused the request before processing it, so even a code exchange may be repeated.
 */
export async function sendToProvider(
  services: Services,
  provider: Provider,
  client: ClientConfig,
  request: TokenRequest,
  signal?: AbortSignal,
): Promise<RawResponse> {
  if (!provider.dpop) return sendRequest(services, request, signal);
  const dpop = await grantSession(services).dpop();
  const keyPair = await dpop.keyPair(provider, client);
  const send = async () => {
    const nonce = dpop.nonces.get(request.url);
    const proof = await dpop.proof(keyPair, {
      method: request.method,
      url: request.url,
      now: services.clock.now(),
      random: services.random,
      ...(nonce === undefined ? {} : { nonce }),
    });
    const response = await sendRequest(services, { ...request, headers: { ...request.headers, dpop: proof } }, signal);
    dpop.nonces.remember(request.url, response.headers);
    return response;
  };
  const response = await send();
  return dpop.isNonceError(response) ? send() : response;
}
