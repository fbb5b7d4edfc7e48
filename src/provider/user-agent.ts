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

/**
 * Whether this runtime can set a User-Agent request header. A browser cannot: User-Agent is a
 * header that fetch in a page or a worker ignores (Path of Exile's SDK: "Browsers forbid setting
 * this header and it will be ignored there"). The default of `services.userAgentHeader`.
 *
 * A page has a `document`. A browser's worker (dedicated, shared or service) has a
 * `WorkerGlobalScope` with a `location` (HTML: every worker has a WorkerLocation), and a browser's
 * user agent string ("Mozilla/5.0 …"). Server runtimes that also define WorkerGlobalScope —
 * Cloudflare's workerd (no `location`), Deno's workers ("Deno/…") — can send the header.
 */
export function runtimeSendsUserAgent(): boolean {
  const global = globalThis as { document?: unknown; WorkerGlobalScope?: unknown; location?: unknown; navigator?: { userAgent?: unknown } };
  if (typeof global.document !== 'undefined') return false;
  if (typeof global.WorkerGlobalScope === 'undefined' || typeof global.location === 'undefined') return true;
  const userAgent = global.navigator?.userAgent;
  return !(typeof userAgent === 'string' && userAgent.startsWith('Mozilla/'));
}

export interface UserAgentOptions {
  /**
   * Whether the runtime can send the header (`services.userAgentHeader`). When false, a missing
   * User-Agent is not refused even where the provider requires one; one given is still checked,
   * so the same configuration works on a server. Default: runtimeSendsUserAgent().
   */
  userAgentHeader?: boolean;
}

/** Checks the client's User-Agent against the provider's documented shape, before any request. */
export function checkUserAgent(provider: Provider, client: ClientConfig, options: UserAgentOptions = {}): void {
  const rule = provider.userAgent;
  if (!rule) return;
  if (client.userAgent === undefined || client.userAgent === '') {
    if (!rule.required || !(options.userAgentHeader ?? runtimeSendsUserAgent())) return;
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
