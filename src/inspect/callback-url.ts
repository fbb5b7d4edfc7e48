import { REDACTED } from '../secret.js';

/**
 * The parameters of an authorization response that are public (RFC 6749 §4.1.2, RFC 9207).
 * This is an allow-list: any other parameter — `code`, or whatever a provider adds — is redacted.
 */
const PUBLIC_PARAMS = new Set(['state', 'iss', 'error', 'error_description', 'error_uri']);

/** The parameter's name decoded (`st%61te` is `state`); one that does not decode is no public name. */
function decodedName(name: string): string | undefined {
  try {
    return decodeURIComponent(name);
  } catch {
    return undefined;
  }
}

function redactParams(part: string): string {
  return part
    .split('&')
    .map((pair) => {
      const at = pair.indexOf('=');
      if (at < 0) return pair;
      const name = pair.slice(0, at);
      const decoded = decodedName(name);
      return decoded !== undefined && PUBLIC_PARAMS.has(decoded) ? pair : `${name}=${REDACTED}`;
    })
    .join('&');
}

/** A callback URL (or its bare query string) as an inspector may see it: every value but the public ones redacted. */
export function redactCallbackUrl(url: string): string {
  const start = url.search(/[?#]/);
  if (start < 0) return /^[a-z][a-z0-9+.-]*:/i.test(url.trim()) ? url : redactParams(url);
  return url.slice(0, start) + url.slice(start).replace(/([?#])([^#]*)/g, (_, separator: string, part: string) => separator + redactParams(part));
}
