import * as z from 'zod/mini';
import { OAuthError } from '../errors.js';
import { ProviderSchema, type Provider, type ProviderInput } from './schema.js';

/**
 * Parses provider data once, when it is used: a bad provider fails before any request, with
 * `invalid_provider` and the path of the bad field (`token.url`, `grants.client_credentials`).
 */
export function parseProvider(input: unknown): Provider {
  // A provider this function returned is parsed already: provider data is configuration, read and
  // never changed by grantflow (to change it, make a new client with new data).
  if (typeof input === 'object' && input !== null && parsed.has(input)) return input as Provider;
  const result = z.safeParse(ProviderSchema, input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issuePath(issue);
    throw new OAuthError('invalid_provider', `provider${field ? ` "${field}"` : ''} ${describeIssue(issue, input)}`, {
      field: field || 'provider',
      cause: result.error.issues,
    });
  }
  checkConsistency(result.data);
  parsed.add(result.data);
  return result.data;
}

/** Providers parsed here: every grant parses its input, and a client's flows all pass the same one. */
const parsed = new WeakSet<object>();

/** Provider data checked at definition; built-in providers use it so a typo fails on import. */
export function defineProvider(input: ProviderInput): Provider {
  return parseProvider(input);
}

function checkConsistency(provider: Provider): void {
  const fail = (field: string, message: string) => {
    throw new OAuthError('invalid_provider', `provider "${field}" ${message}`, { field });
  };
  if (provider.grants.authorization_code && !provider.authorization) {
    fail('authorization', 'is required when grants.authorization_code is declared');
  }
  if (provider.grants.device_code && !provider.deviceAuthorization) {
    fail('deviceAuthorization', 'is required when grants.device_code is declared');
  }
  const pkce = provider.authorization?.pkce;
  if (pkce && pkce.support !== 'unsupported' && pkce.methods.length === 0) {
    fail('authorization.pkce.methods', 'must list at least one method unless PKCE is unsupported');
  }
  if (provider.token.assertionAudience === 'issuer' && !provider.issuer) {
    fail('issuer', 'is required when token.assertionAudience is "issuer"');
  }
  if (provider.openid && !provider.issuer) {
    fail('issuer', 'is required when openid is set: the id_token\'s iss is checked against it');
  }
  if (provider.pushedAuthorization && !provider.authorization) {
    fail('authorization', 'is required when pushedAuthorization is set');
  }
  if (Object.keys(provider.grants).length === 0) {
    fail('grants', 'must declare at least one grant');
  }
}

function issuePath(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) path.push(issue.keys[0]!);
  return path.join('.');
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** zod/mini ships no messages (that is what keeps it small): say what is wrong ourselves. */
function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return valueAt(input, issue.path) === undefined ? 'is required' : `must be ${article(issue.expected)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'url' ? 'must be an http(s) URL' : `must match the ${issue.format} format`;
    case 'unrecognized_keys':
      return `is not a known field${issue.keys.length > 1 ? ` (nor ${issue.keys.slice(1).join(', ')})` : ''}`;
    case 'invalid_key':
      return 'is not an allowed key';
    case 'too_small':
      if (issue.origin === 'array') return `must have at least ${issue.minimum} item(s)`;
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters long`;
      // z.positive() is an exclusive minimum: 0 itself is refused.
      return issue.inclusive === false ? `must be greater than ${issue.minimum}` : `must be at least ${issue.minimum}`;
    case 'too_big':
      return `must be at most ${issue.maximum}`;
    default:
      return 'is invalid';
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
