import { OAuthError } from '../errors.js';
import type { ClientConfig } from '../secrets.js';
import type { Provider } from './schema.js';

/** A template such as `OAuth {clientId}/{version} (contact: {contact})` as a pattern; `{clientId}` must be this client's. */
function templatePattern(template: string, clientId: string): RegExp {
  const parts = template.split(/(\{[A-Za-z]+\})/).map((part) => {
    if (part === '{clientId}') return escape(clientId);
    if (/^\{[A-Za-z]+\}$/.test(part)) return '\\S(?:.*\\S)?';
    return escape(part);
  });
  // Anything after a space may follow (Path of Exile: `… (contact: {email}) OptionalInfo`).
  return new RegExp(`^${parts.join('')}(?: .*)?$`);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Checks the client's User-Agent against the provider's documented shape, before any request. */
export function checkUserAgent(provider: Provider, client: ClientConfig): void {
  const rule = provider.userAgent;
  if (!rule) return;
  if (client.userAgent === undefined || client.userAgent === '') {
    if (!rule.required) return;
    throw new OAuthError('invalid_configuration', `provider "${provider.id}" requires a User-Agent of the form "${rule.template}"; pass client.userAgent`, {
      field: 'client.userAgent',
    });
  }
  if (!templatePattern(rule.template, client.clientId).test(client.userAgent)) {
    throw new OAuthError(
      'invalid_configuration',
      `client.userAgent must have the form "${rule.template}" with this client's id, got "${client.userAgent}"`,
      { field: 'client.userAgent' },
    );
  }
}
