import { OAuthError } from '../errors.js';
import type { GrantType, Provider } from './schema.js';

const matches = (scope: string, pattern: string) =>
  pattern.endsWith('*') ? scope.startsWith(pattern.slice(0, -1)) : scope === pattern;

/**
 * The scopes to send for a grant, checked against the provider's rules before anything is sent:
 * caller's scopes (or the grant's defaults) plus the required ones, without duplicates.
 */
export function resolveScopes(provider: Provider, grant: GrantType, requested: readonly string[] | undefined, confidential: boolean): string[] {
  const rules = provider.grants[grant];
  if (!rules) {
    throw new OAuthError('invalid_configuration', `provider "${provider.id}" does not support the ${grant} grant`, { field: `provider.grants.${grant}` });
  }
  if (rules.confidentialClientsOnly && !confidential) {
    throw new OAuthError(
      'invalid_configuration',
      `provider "${provider.id}" allows the ${grant} grant for confidential clients only; pass a client secret or private key`,
      { field: 'secrets' },
    );
  }
  if (requested !== undefined && !Array.isArray(requested)) {
    throw new OAuthError('invalid_configuration', 'scopes must be an array of strings, such as ["account:profile"]', { field: 'scopes' });
  }
  const asked = requested && requested.length > 0 ? requested : rules.default;
  for (const [index, scope] of asked.entries()) {
    if (typeof scope !== 'string' || scope.length === 0 || /\s/.test(scope)) {
      throw new OAuthError('invalid_scope', `scope at index ${index} must be a non-empty string without spaces`, { field: `scopes.${index}` });
    }
    const forbidden = rules.forbidden.find((pattern) => matches(scope, pattern));
    if (forbidden !== undefined) {
      throw new OAuthError('invalid_scope', `scope "${scope}" is not allowed in the ${grant} grant of provider "${provider.id}" (forbidden: ${forbidden})`, {
        field: `scopes.${index}`,
      });
    }
    if (rules.allowed && !rules.allowed.some((pattern) => matches(scope, pattern))) {
      throw new OAuthError(
        'invalid_scope',
        `scope "${scope}" is not allowed in the ${grant} grant of provider "${provider.id}" (allowed: ${rules.allowed.join(', ')})`,
        { field: `scopes.${index}` },
      );
    }
  }
  return [...new Set([...rules.required, ...asked])];
}
