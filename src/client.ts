import { createActor, toPromise, waitFor } from 'xstate';
import { authorizationCodeMachine } from '../machines/authorization-code.js';
import { refreshTokenMachine } from '../machines/refresh-token.js';
import { clientAssertionMachine } from '../machines/client-assertion.js';
import { clientCredentialsMachine } from '../machines/client-credentials.js';
import type { ClientAuthMethod } from './provider/schema.js';
import { OAuthError, toOAuthError } from './errors.js';
import { createFlowId, PENDING_FLOW_GRACE_MS } from './grants/authorization-code.js';
import { claimPendingFlow } from './grants/claim.js';
import { decodePendingFlow } from './grants/pending-flow.js';
import { DEFAULT_REFRESH_WINDOW_MS, isFreshAt } from './grants/refresh-window.js';
import { requireRevocation, revokeTokenSet, type RevokeWhich } from './grants/revoke.js';
import { pendingFlowKey, tokensKey } from './grants/storage-keys.js';
import { readTokens, writeTokens } from './grants/token-store.js';
import type { GrantOutput } from './grants/types.js';
import { inspectionSettled, redactingInspector, type InspectionHandle, type Inspector } from './inspect/inspector.js';
import { callbackState, checkCallback } from './provider/callback.js';
import { parseProvider } from './provider/parse.js';
import type { PkceMethod, Provider, ProviderInput } from './provider/schema.js';
import { provideServices } from './provide-services.js';
import type { ClientConfig } from './secrets.js';
import { resolveServices, type ServiceOptions } from './services/defaults.js';
import { Secret } from './secret.js';
import { plainTokenSet, type TokenSet } from './tokens.js';
import type { UserInfo } from './oidc/userinfo.js';

export interface OAuthClientOptions extends ServiceOptions {
  provider: ProviderInput;
  clientId: string;
  clientSecret?: string;
  privateKey?: string | JsonWebKey | CryptoKey;
  keyId?: string;
  /** A gateway API key, where the provider's data says it goes (POEMS). */
  apiKey?: string;
  redirectUri?: string;
  /**
   * Require a callback URL's origin and path to be the redirect URI's (its scheme always must be).
   * Off by default: behind a proxy or a load balancer the URL an app sees may differ.
   */
  matchRedirectUri?: boolean;
  userAgent?: string;
  /**
   * Receives every machine event and snapshot (a function, or @statelyai/inspect's `inspector.inspect`).
   * Secrets show as `[redacted]` (see `revealSecrets`); the start and the completion of one
   * authorization are one actor session.
   */
  inspect?: Inspector;
  /** Show secrets to the inspector unredacted: local debugging only. */
  revealSecrets?: boolean;
  /** The client authentication to use where the provider allows several (client_secret_basic or _post); default: the provider's first that fits. */
  authMethod?: ClientAuthMethod;
  /** getAccessToken refreshes a token this close to its expiry, at most a quarter of its lifetime. Default 60 000 ms. */
  refreshWindowMs?: number;
}

export interface StartAuthorizationOptions {
  scopes?: string[];
  extraParams?: Record<string, string>;
  /** Which stored TokenSet the finished flow writes (one per user or account). Default `default`. */
  key?: string;
  pkceMethod?: PkceMethod;
  /** RFC 8707 resource indicators: the APIs the tokens are for (absolute URIs). */
  resource?: string | string[];
}

export interface StartedAuthorization {
  /** Send the user here. */
  url: string;
  /** The flow's `state`; the callback finds the pending flow by it. */
  state: string;
}

/** The tokens, and the storage error when they could not be saved: a key shown once is never lost. */
export type CompletedAuthorization = TokenSet & { storageError?: OAuthError };

export interface RevokeOptions {
  key?: string;
  /** Which token to revoke. Default `refresh_token` (the access token when the set has no refresh token). */
  token?: RevokeWhich;
}

export interface LogoutOptions {
  key?: string;
  /** Revoke before deleting. Default: true when the provider has a revocation endpoint. */
  revoke?: boolean;
}

/** What logout did. It never throws: a failed revocation or delete is reported here. */
export interface LogoutResult {
  /** The server confirmed the revocation (RFC 7009). */
  revoked: boolean;
  /** Why the revocation failed; the set was deleted all the same. */
  revocationError?: OAuthError;
  /** The set is gone from the storage (and from memory). */
  deleted: boolean;
  /** Why the delete failed. */
  storageError?: OAuthError;
}

export interface OAuthClient {
  readonly provider: Provider;
  startAuthorization(options?: StartAuthorizationOptions): Promise<StartedAuthorization>;
  completeAuthorization(callbackUrl: string): Promise<CompletedAuthorization>;
  /** The stored TokenSet for `key`, if any. */
  getStoredTokens(options?: { key?: string }): Promise<TokenSet | undefined>;
  /**
   * The stored TokenSet, refreshed first when it is within the refresh window of its expiry.
   * Concurrent calls share one refresh (one per process, and one across processes through the storage's lock).
   */
  getAccessToken(options?: { key?: string }): Promise<TokenSet>;
  /** Refreshes now, whatever the expiry. */
  refresh(options?: { key?: string; scopes?: string[]; resource?: string | string[] }): Promise<TokenSet>;
  /**
   * A token for the client itself (client credentials): with privateKey, an RS256 client
   * assertion (private_key_jwt); with clientSecret, the secret. Cached until shortly before
   * expiry; concurrent callers share one request.
   */
  clientCredentials(options?: { scopes?: string[]; force?: boolean; resource?: string | string[] }): Promise<TokenSet>;
  /** Revokes the stored set's tokens at the provider's revocation endpoint (RFC 7009); the set stays stored. */
  revoke(options?: RevokeOptions): Promise<void>;
  /** Revokes (see LogoutOptions.revoke), then deletes the stored set, even when the revocation failed. */
  logout(options?: LogoutOptions): Promise<LogoutResult>;
  /**
   * OpenID Connect UserInfo (OIDC Core §5.3) with the stored access token (refreshed when near
   * expiry); its `sub` must be the id_token's. Needs the provider's `openid.userinfoUrl`.
   */
  getUserInfo(options?: { key?: string }): Promise<UserInfo>;
  /**
   * The headers that present the stored access token on one request to `url`: `Authorization:
   * Bearer …`, or for a DPoP-bound token `Authorization: DPoP …` and a `DPoP` proof made for this
   * method and URL (RFC 9449 §7). A proof is single-use: ask again for every request.
   */
  authorizationHeaders(request: { method: string; url: string; key?: string }): Promise<Record<string, string>>;
  /**
   * fetch with the stored access token presented (authorizationHeaders), through the client's
   * `http`. A DPoP nonce challenge from the resource server is answered once.
   */
  fetch(url: string, init?: RequestInit & { key?: string }): Promise<Response>;
  /**
   * Resolves once the inspector has been handed every message so far (@statelyai/inspect sends
   * on idle callbacks). A single-page app awaits it before it navigates to the provider, or the
   * start of the flow never reaches the inspector.
   */
  flushInspection(): Promise<void>;
}

/**
 * The facade over the grant machines. Pending flows live in storage as persisted machine
 * snapshots, not as live actors: any client sharing the storage completes a flow, after a
 * restart too. Methods throw OAuthError; the machines return it in their output.
 */
export function createOAuthClient(options: OAuthClientOptions): OAuthClient {
  const provider = parseProvider(options.provider);
  if (typeof options.clientId !== 'string' || options.clientId === '') {
    throw new OAuthError('invalid_configuration', 'clientId must be a non-empty string', { field: 'clientId' });
  }
  const services = resolveServices(options);
  const secrets = {
    ...(options.clientSecret === undefined ? {} : { clientSecret: options.clientSecret }),
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    ...(options.keyId === undefined ? {} : { keyId: options.keyId }),
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
  };
  const client: ClientConfig = {
    clientId: options.clientId,
    ...(options.redirectUri === undefined ? {} : { redirectUri: options.redirectUri }),
    ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
    ...(options.authMethod === undefined ? {} : { authMethod: options.authMethod }),
  };
  const codeMachine = provideServices(authorizationCodeMachine, { ...services, secrets });
  const refreshMachine = provideServices(refreshTokenMachine, { ...services, secrets });
  const refreshWindowMs = options.refreshWindowMs ?? DEFAULT_REFRESH_WINDOW_MS;
  const location = (key?: string) => ({ providerId: provider.id, clientId: client.clientId, key });
  /** Refreshes and client credentials requests under way in this process. */
  const inflight = new Map<string, Promise<TokenSet>>();
  /** One inspector handle per actor run; a flow's id keeps its two halves in one inspector session. */
  const inspectorFor = (flowId: string): InspectionHandle | undefined =>
    options.inspect ? redactingInspector(options.inspect, { revealSecrets: options.revealSecrets ?? false, flowId }) : undefined;
  const actorOptions = (flowId?: string) => {
    const inspect = options.inspect ? inspectorFor(flowId ?? createFlowId(services.random)) : undefined;
    return inspect ? { inspect } : {};
  };

  async function startAuthorization(start: StartAuthorizationOptions = {}): Promise<StartedAuthorization> {
    const flowId = createFlowId(services.random);
    const inspect = inspectorFor(flowId);
    const actor = createActor(codeMachine, {
      ...(inspect ? { inspect } : {}),
      input: {
        provider,
        client,
        flowId,
        ...(start.scopes ? { scopes: start.scopes } : {}),
        ...(start.extraParams ? { extraParams: start.extraParams } : {}),
        ...(start.key === undefined ? {} : { key: start.key }),
        ...(start.pkceMethod ? { pkceMethod: start.pkceMethod } : {}),
        ...(start.resource === undefined ? {} : { resource: start.resource }),
      },
    }).start();
    try {
      const snapshot = await waitFor(actor, (s) => s.matches('awaitingCallback') || s.status !== 'active');
      if (snapshot.status === 'done') throw failure(snapshot.output);
      // The pending flow is in storage now; the live actor is not needed until the callback.
      // The flow goes on in completeAuthorization: the inspector keeps it in awaitingCallback.
      inspect?.park();
      return { url: snapshot.context.authorizationUrl!, state: snapshot.context.state! };
    } finally {
      actor.stop();
    }
  }

  async function completeAuthorization(callbackUrl: string): Promise<CompletedAuthorization> {
    if (typeof callbackUrl !== 'string' || callbackUrl.trim() === '') {
      throw new OAuthError('invalid_callback', 'callbackUrl must be the callback URL or its query string', { field: 'callbackUrl' });
    }
    const state = callbackState(callbackUrl);
    if (state === undefined) throw new OAuthError('state_mismatch', 'callback has no "state"', { field: 'callback.state' });
    refuseMalformed(callbackUrl, state);
    // Claimed (read and deleted at once) before anything else: one completion per flow, whatever the concurrency.
    const raw = await claimPendingFlow(services, pendingFlowKey(provider.id, client.clientId, state), PENDING_FLOW_GRACE_MS);
    const context = decodePendingFlow(raw, { provider, client, state });
    if (options.matchRedirectUri) context.input = { ...context.input, matchRedirectUri: true };
    const snapshot = codeMachine.resolveState({ value: 'awaitingCallback', context });
    // input is ignored when a snapshot is given; the types ask for it all the same.
    const actor = createActor(codeMachine, { ...actorOptions(context.flow!.flowId), snapshot, input: context.input }).start();
    actor.send({ type: 'callback', url: Secret.of(callbackUrl) });
    return keepUnsaved(context.input.key, settle(await toPromise(actor)));
  }

  /**
   * A callback that cannot be this flow's — another scheme, origin or path, a duplicated parameter,
   * a malformed `error` — is refused before the flow is claimed, so a forged or mangled one does not
   * end the user's pending flow. (An `error` such as access_denied does end it, in the machine.)
   */
  function refuseMalformed(callbackUrl: string, state: string): void {
    try {
      checkCallback(callbackUrl, { provider, state, ...(client.redirectUri === undefined ? {} : { redirectUri: client.redirectUri }), ...(options.matchRedirectUri ? { matchRedirectUri: true } : {}) });
    } catch (error) {
      if (error instanceof OAuthError && (error.code === 'invalid_callback' || error.code === 'state_mismatch' || error.code === 'invalid_configuration')) throw error;
    }
  }

  /**
   * Tokens that could not be stored are kept here, by key, until they are: the next call stores
   * them first, and never refreshes with an older (rotated) refresh token in their stead.
   */
  const unsaved = new Map<string, TokenSet>();

  function keepUnsaved<T extends CompletedAuthorization>(key: string | undefined, result: T): T {
    const { storageError, ...tokens } = result;
    if (storageError) unsaved.set(key ?? 'default', tokens);
    else unsaved.delete(key ?? 'default');
    return result;
  }

  /** Stores the kept tokens of `key`, if any; resolves with them while they still cannot be stored. */
  async function storeUnsaved(key: string | undefined): Promise<TokenSet | undefined> {
    const kept = unsaved.get(key ?? 'default');
    if (!kept) return undefined;
    try {
      await writeTokens(services, location(key), kept);
      if (unsaved.get(key ?? 'default') === kept) unsaved.delete(key ?? 'default');
      return undefined;
    } catch {
      return kept;
    }
  }

  const stillUnsaved = () =>
    new OAuthError('storage_error', 'the newest tokens could not be stored yet: refusing to refresh with an older, rotated refresh token', { field: 'storage.tokens' });

  async function getStoredTokens(options: { key?: string } = {}): Promise<TokenSet | undefined> {
    return readTokens(services, location(options.key));
  }

  /** Concurrent callers of the same work share one run: the live actor's result. */
  function singleFlight(flight: string, run: () => Promise<TokenSet>): Promise<TokenSet> {
    const running = inflight.get(flight);
    if (running) return running;
    const shared = run().finally(() => inflight.delete(flight));
    inflight.set(flight, shared);
    return shared;
  }

  function runRefresh(key: string | undefined, force: boolean, scopes?: string[], resource?: string | string[]): Promise<TokenSet> {
    const resources = resource === undefined ? '' : [resource].flat().join(' ');
    return singleFlight(`refresh:${force ? 'force' : 'fresh'}:${key ?? 'default'}:${scopes?.join(' ') ?? ''}:${resources}`, async () => {
      if (await storeUnsaved(key)) throw stillUnsaved();
      const input = {
        provider,
        client,
        force,
        refreshWindowMs,
        ...(key === undefined ? {} : { key }),
        ...(scopes ? { scopes } : {}),
        ...(resource === undefined ? {} : { resource }),
      };
      return keepUnsaved(key, settle(await toPromise(createActor(refreshMachine, { ...actorOptions(), input }).start())));
    });
  }

  async function getAccessToken(options: { key?: string } = {}): Promise<TokenSet> {
    const kept = await storeUnsaved(options.key);
    if (kept) {
      if (isFreshAt(kept, services.clock.now(), refreshWindowMs)) return kept;
      throw stillUnsaved();
    }
    const stored = await readTokens(services, location(options.key));
    if (!stored) throw new OAuthError('reauthorization_required', 'no tokens are stored for this key: authorize first', { field: 'key' });
    if (isFreshAt(stored, services.clock.now(), refreshWindowMs)) return stored;
    return runRefresh(options.key, false);
  }

  function refresh(options: { key?: string; scopes?: string[]; resource?: string | string[] } = {}): Promise<TokenSet> {
    return runRefresh(options.key, true, options.scopes, options.resource);
  }

  // The grant follows the secrets given, as the provider allows: a private key signs assertions.
  const credentialsMachine =
    secrets.privateKey !== undefined && provider.token.authMethods.includes('private_key_jwt')
      ? provideServices(clientAssertionMachine, { ...services, secrets })
      : provideServices(clientCredentialsMachine, { ...services, secrets });

  function clientCredentials(options: { scopes?: string[]; force?: boolean; resource?: string | string[] } = {}): Promise<TokenSet> {
    const scopes = [...(options.scopes ?? [])].sort().join(' ');
    const resources = options.resource === undefined ? '' : [options.resource].flat().sort().join(' ');
    return singleFlight(`client_credentials:${options.force ? 'force' : 'cached'}:${scopes}:${resources}`, async () => {
      const input = {
        provider,
        client,
        refreshWindowMs,
        ...(options.scopes ? { scopes: options.scopes } : {}),
        ...(options.force ? { force: true } : {}),
        ...(options.resource === undefined ? {} : { resource: options.resource }),
      };
      return settle(await toPromise(createActor(credentialsMachine, { ...actorOptions(), input }).start()));
    });
  }

  /** Revokes the newest set of `key` (after any refresh under way); false when none is stored. */
  async function revokeKey(key: string | undefined, token?: RevokeWhich): Promise<boolean> {
    requireRevocation(provider);
    await Promise.allSettled(inflight.values());
    const tokens = unsaved.get(key ?? 'default') ?? (await readTokens(services, location(key)));
    if (tokens) await revokeTokenSet(services, secrets, { provider, client, tokens, token });
    return tokens !== undefined;
  }

  async function revoke(options: RevokeOptions = {}): Promise<void> {
    if (!(await revokeKey(options.key, options.token))) {
      throw new OAuthError('reauthorization_required', 'no tokens are stored for this key: nothing to revoke', { field: 'key' });
    }
  }

  async function logout(options: LogoutOptions = {}): Promise<LogoutResult> {
    const result: LogoutResult = { revoked: false, deleted: false };
    if (options.revoke ?? provider.revocation !== undefined) {
      try {
        result.revoked = await revokeKey(options.key);
      } catch (error) {
        result.revocationError = toOAuthError(error);
      }
    }
    unsaved.delete(options.key ?? 'default');
    try {
      await services.storage.delete(tokensKey(provider.id, client.clientId, options.key));
      result.deleted = true;
    } catch (error) {
      result.storageError = new OAuthError('storage_error', `could not delete the stored tokens: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return result;
  }

  async function getUserInfo(options: { key?: string } = {}): Promise<UserInfo> {
    const url = provider.openid?.userinfoUrl;
    if (url === undefined) {
      throw new OAuthError('invalid_configuration', `provider "${provider.id}" has no userinfo endpoint (openid.userinfoUrl)`, { field: 'provider.openid.userinfoUrl' });
    }
    const tokens = await getAccessToken(options);
    const { requestUserInfo } = await import('./grants/userinfo.js');
    return requestUserInfo(services, provider, client, tokens, url);
  }

  // Resource requests: imported when first made, so an app that never makes one does not carry them.
  async function authorizationHeaders(request: { method: string; url: string; key?: string }): Promise<Record<string, string>> {
    const tokens = await getAccessToken(request.key === undefined ? {} : { key: request.key });
    const { authorizationHeaders: headersFor } = await import('./grants/resource-request.js');
    return headersFor(services, provider, client, tokens, { method: request.method, url: request.url });
  }

  async function fetchWithToken(url: string, init: RequestInit & { key?: string } = {}): Promise<Response> {
    const { key, ...rest } = init;
    const tokens = await getAccessToken(key === undefined ? {} : { key });
    const { fetchWithTokens } = await import('./grants/resource-request.js');
    return fetchWithTokens(services, provider, client, tokens, url, rest);
  }

  return {
    provider,
    startAuthorization,
    completeAuthorization,
    getStoredTokens,
    getAccessToken,
    refresh,
    clientCredentials,
    revoke,
    logout,
    getUserInfo,
    authorizationHeaders,
    fetch: fetchWithToken,
    flushInspection: inspectionSettled,
  };
}

/** A machine's output as the facade returns it: the tokens (with a storage error beside them), or the error thrown. */
function settle(output: GrantOutput): CompletedAuthorization {
  if (output.status !== 'succeeded') throw output.error;
  const tokens = plainTokenSet(output.tokens);
  return output.storageError ? { ...tokens, storageError: output.storageError } : tokens;
}

function failure(output: unknown): OAuthError {
  const result = output as GrantOutput | undefined;
  if (result && result.status !== 'succeeded') return toOAuthError(result.error);
  return new OAuthError('invalid_configuration', 'the flow ended before the authorization URL was ready');
}

