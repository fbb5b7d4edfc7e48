import { OAuthError } from '../errors.js';

/**
 * RFC 8707 §2: a resource indicator is an absolute URI without a fragment. Given as one string or
 * a list; returned as a list (one `resource` parameter each), or undefined when none was given.
 */
export function checkResource(resource: unknown, field = 'resource'): string[] | undefined {
  if (resource === undefined) return undefined;
  const list = typeof resource === 'string' ? [resource] : resource;
  if (!Array.isArray(list)) throw new OAuthError('invalid_configuration', `${field} must be an absolute URI or a list of them`, { field });
  return list.map((item: unknown, index) => {
    const at = typeof resource === 'string' ? field : `${field}.${index}`;
    if (typeof item !== 'string' || !isAbsoluteUri(item)) {
      throw new OAuthError('invalid_configuration', `${at} must be an absolute URI (RFC 8707 §2)`, { field: at });
    }
    if (item.includes('#')) throw new OAuthError('invalid_configuration', `${at} must not have a fragment (RFC 8707 §2)`, { field: at });
    return item;
  });
}

/** RFC 3986 §4.3: a scheme, then anything; `new URL` also accepts `urn:` and other non-special schemes. */
function isAbsoluteUri(value: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
