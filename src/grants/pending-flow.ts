import * as z from 'zod/mini';
import { OAuthError } from '../errors.js';
import { redirectUriToSend } from '../provider/authorization-url.js';
import { flowFingerprint } from '../provider/fingerprint.js';
import { PkceMethodSchema, type Provider } from '../provider/schema.js';
import { revealSecret, Secret } from '../secret.js';
import type { ClientConfig } from '../secrets.js';
import type { AuthorizationCodeContext } from './authorization-code.js';

/**
 * What is stored while the user is at the provider: a small, explicit record, not a machine
 * snapshot. The provider's data is not in it (only its id and fingerprint): completing a flow
 * rebuilds it from the client's own provider, so whoever can write the storage cannot choose
 * where the code and verifier go.
 */
export const PendingFlowRecordSchema = z.strictObject({
  version: z.literal(2),
  /** Links the two halves of one flow in the inspector. */
  flowId: z.string().check(z.minLength(1), z.maxLength(200)),
  /**
   * Of the provider's data, the client id and the redirect URI exactly as sent (flowFingerprint).
   * The state, the provider id and the client id are in the record's storage key.
   */
  fingerprint: z.string(),
  scopes: z.array(z.string()),
  key: z.optional(z.string()),
  codeVerifier: z.optional(z.string().check(z.minLength(1))),
  pkceMethod: z.optional(PkceMethodSchema),
  extraParams: z.optional(z.record(z.string(), z.string())),
  nonce: z.optional(z.string().check(z.minLength(1))),
  resource: z.optional(z.array(z.string())),
  createdAt: z.number().check(z.refine(Number.isFinite)),
});

export type PendingFlowRecord = z.infer<typeof PendingFlowRecordSchema>;

/** The record of a flow that has reached awaitingCallback. */
export function encodePendingFlow(context: AuthorizationCodeContext): PendingFlowRecord {
  const flow = context.flow!;
  const { input } = context;
  return {
    version: 2,
    flowId: flow.flowId,
    fingerprint: flowFingerprint(flow.provider, input.client.clientId, flow.sentRedirectUri),
    scopes: flow.scopes,
    ...(input.key === undefined ? {} : { key: input.key }),
    ...(flow.codeVerifier === undefined ? {} : { codeVerifier: revealSecret(flow.codeVerifier) }),
    ...(flow.pkceMethod === undefined ? {} : { pkceMethod: flow.pkceMethod }),
    ...(input.extraParams === undefined ? {} : { extraParams: input.extraParams }),
    ...(flow.nonce === undefined ? {} : { nonce: revealSecret(flow.nonce) }),
    ...(flow.resource === undefined ? {} : { resource: flow.resource }),
    createdAt: flow.createdAt,
  };
}

const corrupt = (problem: string, field: string, cause?: unknown) =>
  new OAuthError('storage_error', `the stored pending flow ${problem}`, { field, ...(cause === undefined ? {} : { cause }) });

const startedElsewhere = (why: string) =>
  new OAuthError('flow_not_found', `the pending flow for this state was started ${why}: start the authorization again`, { field: 'callback.state' });

export interface PendingFlowOwner {
  provider: Provider;
  client: ClientConfig;
  /** The state the record was looked up by. */
  state: string;
}

/**
 * Reads a stored record back into the machine's awaitingCallback context, with the client's own
 * provider and client. Corrupt data is `storage_error` naming the field; a record made under
 * other provider data or another redirect URI is `flow_not_found`.
 */
export function decodePendingFlow(raw: string, owner: PendingFlowOwner): AuthorizationCodeContext {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw corrupt('is not valid JSON', 'storage.pendingFlow', error);
  }
  const parsed = z.safeParse(PendingFlowRecordSchema, json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    throw corrupt(`has a bad shape${path ? ` at "${path}"` : ''}`, `storage.pendingFlow${path ? `.${path}` : ''}`, parsed.error.issues);
  }
  const record = parsed.data;
  const { provider, client, state } = owner;
  const redirectUri = client.redirectUri;
  const sentRedirectUri = redirectUri === undefined ? undefined : redirectUriToSend(provider, redirectUri, state);
  if (redirectUri === undefined || sentRedirectUri === undefined || record.fingerprint !== flowFingerprint(provider, client.clientId, sentRedirectUri)) {
    throw startedElsewhere(`under other data for provider "${provider.id}", or with another client id or redirect URI`);
  }
  if (provider.authorization?.pkce.support === 'required' && record.codeVerifier === undefined) {
    throw corrupt('has no code verifier, which this provider requires', 'storage.pendingFlow.codeVerifier');
  }
  if (provider.openid && record.scopes.includes('openid') && record.nonce === undefined) {
    throw corrupt('has no nonce, which an OpenID Connect sign-in needs', 'storage.pendingFlow.nonce');
  }
  return {
    input: {
      provider,
      client,
      scopes: record.scopes,
      flowId: record.flowId,
      ...(record.key === undefined ? {} : { key: record.key }),
      ...(record.extraParams === undefined ? {} : { extraParams: record.extraParams }),
      ...(record.pkceMethod === undefined ? {} : { pkceMethod: record.pkceMethod }),
      ...(record.resource === undefined ? {} : { resource: record.resource }),
    },
    flow: {
      flowId: record.flowId,
      provider,
      state,
      redirectUri,
      sentRedirectUri,
      scopes: record.scopes,
      ...(record.codeVerifier === undefined ? {} : { codeVerifier: Secret.of(record.codeVerifier) }),
      ...(record.pkceMethod === undefined ? {} : { pkceMethod: record.pkceMethod }),
      ...(record.nonce === undefined ? {} : { nonce: Secret.of(record.nonce) }),
      ...(record.resource === undefined ? {} : { resource: record.resource }),
      createdAt: record.createdAt,
    },
    state,
    attempt: 0,
  };
}
