/** Storage keys, namespaced by provider and client so that apps and clients never collide. */
const namespace = (providerId: string, clientId: string) => `grantflow:${providerId}:${encodeURIComponent(clientId)}`;

export const pendingFlowKey = (providerId: string, clientId: string, state: string) => `${namespace(providerId, clientId)}:flow:${state}`;

export const tokensKey = (providerId: string, clientId: string, key = 'default') =>
  `${namespace(providerId, clientId)}:tokens:${encodeURIComponent(key)}`;

/** The refresh lock of a stored TokenSet: one refresh at a time, across processes. */
export const refreshLockKey = (providerId: string, clientId: string, key = 'default') => `${tokensKey(providerId, clientId, key)}:lock`;
