import type { Provider } from './schema.js';

/** JSON with object keys sorted, so equal data always gives the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A short fingerprint of a provider's parsed data (FNV-1a, 2 × 32 bits). Not a MAC: it tells a
 * pending flow started under other provider data from one started under this data. The data
 * itself always comes from the client, never from storage.
 */
export function providerFingerprint(provider: Provider): string {
  // Once per provider object: provider data is configuration, never changed in place by grantflow.
  const known = fingerprints.get(provider);
  if (known !== undefined) return known;
  const fingerprint = fnv(canonicalJson(provider));
  fingerprints.set(provider, fingerprint);
  return fingerprint;
}

const fingerprints = new WeakMap<Provider, string>();

function fnv(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** What a pending flow was started under: the provider's data, the client id and the redirect URI as sent. */
export function flowFingerprint(provider: Provider, clientId: string, sentRedirectUri: string): string {
  return fnv(`${providerFingerprint(provider)}\n${clientId}\n${sentRedirectUri}`);
}
