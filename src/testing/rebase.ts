import type { Provider } from '../provider/schema.js';

const rebaseUrl = (url: string, origin: string) => {
  const parsed = new URL(url);
  return `${origin.replace(/\/$/, '')}${parsed.pathname}${parsed.search}`;
};

/** A copy of provider data with every endpoint moved to `origin`, to use a fake served on 127.0.0.1. */
export function rebaseProvider(provider: Provider, origin: string): Provider {
  return {
    ...provider,
    ...(provider.issuer === undefined ? {} : { issuer: rebaseUrl(provider.issuer, origin) }),
    ...(provider.authorization ? { authorization: { ...provider.authorization, url: rebaseUrl(provider.authorization.url, origin) } } : {}),
    token: { ...provider.token, url: rebaseUrl(provider.token.url, origin) },
  };
}
