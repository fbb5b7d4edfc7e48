import { fromPromise } from 'xstate';
import { createPkcePair, createState } from '../crypto/pkce.js';
import { OAuthError, toOAuthError } from '../errors.js';
import { authorizationParams, buildAuthorizationUrl, buildPushedAuthorizationUrl, redirectUriToSend, type AuthorizationUrlOptions } from '../provider/authorization-url.js';
import { checkResource } from '../provider/resource.js';
import { createNonce } from '../oidc/nonce.js';
import { buildEndpointRequest } from './endpoint-request.js';
import { isOpenIdSignIn, withIdTokenClaims } from './openid.js';
import { sendToProvider } from './session.js';
import { checkCallback } from '../provider/callback.js';
import { chooseClientAuth } from '../provider/client-auth.js';
import type { PkceMethod, Provider } from '../provider/schema.js';
import { resolveScopes } from '../provider/scopes.js';
import { buildTokenRequest } from '../provider/token-request.js';
import { processTokenResponse } from '../provider/token-response.js';
import type { ClientSecrets } from '../secrets.js';
import type { Services } from '../services/types.js';
import { isSecret, revealSecret, Secret } from '../secret.js';
import { sealTokenSet, withRequestedScopes, type TokenSet } from '../tokens.js';
import { encodePendingFlow } from './pending-flow.js';
import { prepareGrant, secretsFor } from './prepare.js';
import { backoffDelay, canRetry, isSafeToRepeat, notRepeated } from './retry.js';
import { pendingFlowKey } from './storage-keys.js';
import { writeTokens } from './token-store.js';
import type { AuthorizationCodeInput } from './types.js';

/** A started flow: what awaitingCallback and the exchange need. Persisted as a PendingFlowRecord. */
export interface PendingFlow {
  /** Public: links the flow's start and completion in the inspector. */
  flowId: string;
  provider: Provider;
  state: string;
  /** The redirect URI as registered; `sentRedirectUri` is it with the state where the provider has no state parameter. */
  redirectUri: string;
  sentRedirectUri: string;
  scopes: string[];
  codeVerifier?: Secret;
  pkceMethod?: PkceMethod;
  /** OpenID Connect: sent in the authorization request, expected in the id_token. */
  nonce?: Secret;
  /** RFC 8707: sent again at the exchange. */
  resource?: string[];
  createdAt: number;
}

export interface AuthorizationCodeContext {
  input: AuthorizationCodeInput;
  flow?: PendingFlow;
  /** Shown while awaiting the callback (ARCHITECTURE: `context.authorizationUrl`, `context.state`); only on the actor that started the flow. */
  authorizationUrl?: string;
  state?: string;
  code?: Secret;
  attempt: number;
  retryAfterMs?: number;
  tokens?: TokenSet;
  storageError?: OAuthError;
  error?: OAuthError;
}

/** A pending flow outlives its code lifetime a little, so a late callback says `flow_expired`, not `flow_not_found`. */
export const PENDING_FLOW_GRACE_MS = 10 * 60_000;

/** What preparing hands to awaitingCallback. */
export interface PreparedAuthorization {
  flow: PendingFlow;
  authorizationUrl: string;
}

function choosePkce(provider: Provider, asked: PkceMethod | undefined): PkceMethod | undefined {
  const pkce = provider.authorization!.pkce;
  if (pkce.support === 'unsupported') {
    if (asked) throw new OAuthError('invalid_configuration', `provider "${provider.id}" does not support PKCE`, { field: 'pkceMethod' });
    return undefined;
  }
  if (asked === 'plain' && pkce.methods.includes('S256')) {
    throw new OAuthError('invalid_configuration', `PKCE "plain" is refused: provider "${provider.id}" supports S256`, { field: 'pkceMethod' });
  }
  const method = asked ?? (pkce.methods.includes('S256') ? 'S256' : undefined);
  if (method === undefined) {
    throw new OAuthError('invalid_configuration', `provider "${provider.id}" only allows PKCE "plain"; opt in with pkceMethod: "plain"`, {
      field: 'pkceMethod',
    });
  }
  if (!pkce.methods.includes(method)) {
    throw new OAuthError('invalid_configuration', `provider "${provider.id}" does not allow PKCE method "${method}"`, { field: 'pkceMethod' });
  }
  return method;
}

function checkRedirectUri(client: AuthorizationCodeInput['client']): string {
  if (typeof client.redirectUri !== 'string') {
    throw new OAuthError('invalid_configuration', 'client.redirectUri is required for the authorization code grant', { field: 'client.redirectUri' });
  }
  try {
    new URL(client.redirectUri);
  } catch {
    throw new OAuthError('invalid_configuration', 'client.redirectUri must be an absolute URL', { field: 'client.redirectUri' });
  }
  return client.redirectUri;
}

/** Makes the PKCE pair and state, builds the authorization URL, and saves the pending flow. */
export async function prepareAuthorization(services: Services, secrets: ClientSecrets, input: AuthorizationCodeInput, signal?: AbortSignal): Promise<PreparedAuthorization> {
  const { provider, auth } = prepareGrant(input.provider, input.client, secrets, 'authorization_code', { userAgentHeader: services.userAgentHeader });
  const redirectUri = checkRedirectUri(input.client);
  const scopes = resolveScopes(provider, 'authorization_code', input.scopes, auth !== 'none');
  const pkceMethod = choosePkce(provider, input.pkceMethod);
  const pkce = pkceMethod ? await createPkcePair(services.random, pkceMethod) : undefined;
  const state = createState(services.random);
  const resource = checkResource(input.resource);
  // OpenID Connect (Core §3.1.2.1): a nonce binds the id_token to this flow.
  const nonce = isOpenIdSignIn(provider, scopes) ? createNonce(services.random) : undefined;
  const request: AuthorizationUrlOptions = {
    provider,
    clientId: input.client.clientId,
    redirectUri,
    scopes,
    state,
    ...(pkce ? { pkce } : {}),
    ...(nonce === undefined ? {} : { nonce }),
    ...(resource ? { resource } : {}),
    ...(input.extraParams ? { extraParams: input.extraParams } : {}),
  };
  const authorizationUrl = provider.pushedAuthorization
    ? await pushAuthorizationRequest(services, secrets, input, request, signal)
    : buildAuthorizationUrl(request);
  const flow: PendingFlow = {
    flowId: input.flowId ?? createFlowId(services.random),
    provider,
    state,
    redirectUri,
    sentRedirectUri: redirectUriToSend(provider, redirectUri, state),
    scopes,
    ...(pkce ? { codeVerifier: Secret.of(pkce.verifier), pkceMethod: pkce.method } : {}),
    ...(nonce === undefined ? {} : { nonce: Secret.of(nonce) }),
    ...(resource ? { resource } : {}),
    createdAt: services.clock.now(),
  };
  return { flow, authorizationUrl };
}

/**
 * RFC 9126: the request is pushed to the provider first (authenticated as at the token endpoint);
 * the URL the user is sent to carries only the client id and the request URI given back. Nothing
 * is redeemed by a push, so the facade's caller may simply start again when it fails.
 */
async function pushAuthorizationRequest(
  services: Services,
  secrets: ClientSecrets,
  input: AuthorizationCodeInput,
  request: AuthorizationUrlOptions,
  signal?: AbortSignal,
): Promise<string> {
  const provider = request.provider;
  const endpoint = provider.pushedAuthorization!;
  const codeSecrets = secretsFor('authorization_code', secrets);
  // Imported when a provider pushes: a bundle whose providers never do does not carry it.
  const { buildPushedAuthorizationRequest, processPushedAuthorizationResponse } = await import('../provider/pushed-authorization.js');
  const built = buildPushedAuthorizationRequest({
    provider,
    client: input.client,
    secrets: codeSecrets,
    params: authorizationParams(request),
    build: (params) => buildEndpointRequest(endpoint, 'authorization_code', { provider, client: input.client, secrets, userAgentHeader: services.userAgentHeader, params }),
  });
  const response = await sendToProvider(services, provider, input.client, built, signal);
  const pushed = processPushedAuthorizationResponse(provider, response, services.clock.now());
  return buildPushedAuthorizationUrl(provider, input.client.clientId, pushed.requestUri);
}

/** Saves the pending flow under its state, as the small explicit record (see pending-flow.ts). */
export async function savePendingFlow(services: Services, context: AuthorizationCodeContext): Promise<void> {
  const flow = context.flow!;
  const key = pendingFlowKey(flow.provider.id, context.input.client.clientId, flow.state);
  try {
    await services.storage.set(key, JSON.stringify(encodePendingFlow(context)), { ttlMs: flow.provider.authorization!.codeLifetimeMs + PENDING_FLOW_GRACE_MS });
  } catch (error) {
    throw new OAuthError('storage_error', `could not save the pending flow: ${errorMessage(error)}`, { cause: error });
  }
}

export interface ExchangeCodeInput {
  flow: PendingFlow;
  client: AuthorizationCodeInput['client'];
  code: Secret;
  /** Which stored TokenSet the tokens go to, should the actor stop while they are in flight. */
  key?: string | undefined;
}

/** Sends the token request as the provider's data says and maps the answer to a TokenSet. */
export async function exchangeCode(services: Services, secrets: ClientSecrets, input: ExchangeCodeInput, signal?: AbortSignal): Promise<TokenSet> {
  const { flow, client, code } = input;
  const { provider } = flow;
  const request = buildTokenRequest({
    provider,
    client,
    secrets,
    userAgentHeader: services.userAgentHeader,
    auth: chooseClientAuth(provider, secretsFor('authorization_code', secrets), client),
    grantType: 'authorization_code',
    params: {
      code: revealSecret(code),
      redirect_uri: provider.token.sendsRedirectUri ? flow.sentRedirectUri : undefined,
      code_verifier: flow.codeVerifier === undefined ? undefined : revealSecret(flow.codeVerifier),
      code_challenge_method: provider.token.sendsCodeChallengeMethod ? flow.pkceMethod : undefined,
      resource: flow.resource,
    },
  });
  const response = await sendToProvider(services, provider, client, request, signal);
  const requested = provider.authorization!.sendsScope ? flow.scopes : [];
  const tokens = withRequestedScopes(processTokenResponse(provider, response, services.clock.now()), requested);
  return sealTokenSet(
    await withIdTokenClaims(services, provider, client.clientId, response, tokens, {
      required: isOpenIdSignIn(provider, flow.scopes),
      nonce: flow.nonce,
    }),
  );
}

export interface StoreTokensInput {
  flow: PendingFlow;
  clientId: string;
  key: string | undefined;
  tokens: TokenSet;
}

/** Saves the TokenSet and deletes the pending flow: a code is single-use, so is its flow. */
export async function storeTokens(services: Services, input: StoreTokensInput): Promise<void> {
  const { flow, clientId } = input;
  await writeTokens(services, { providerId: flow.provider.id, clientId, key: input.key }, input.tokens);
  try {
    await services.storage.delete(pendingFlowKey(flow.provider.id, clientId, flow.state));
  } catch (error) {
    throw new OAuthError('storage_error', `the tokens were stored but the pending flow could not be deleted: ${errorMessage(error)}`, { cause: error });
  }
}

/** Tokens that arrived after the actor stopped: stored all the same, so a key shown once is not lost. */
async function keepArrivedTokens(services: Services, input: ExchangeCodeInput, tokens: TokenSet): Promise<void> {
  try {
    await storeTokens(services, { flow: input.flow, clientId: input.client.clientId, key: input.key, tokens });
  } catch {
    // Nobody is left to tell; the storage's own error is all there is.
  }
}

/** The code of a callback event, or the OAuthError that refuses it (pure: guards and actions share it). */
export function callbackOutcome(context: AuthorizationCodeContext, event: { type: string; url?: unknown }): { code?: Secret; error?: OAuthError } {
  try {
    const url = isSecret(event.url) ? revealSecret(event.url) : event.url;
    const { flow, input } = context;
    return {
      code: Secret.of(
        checkCallback(url, { provider: flow!.provider, state: flow!.state, redirectUri: flow!.redirectUri, ...(input.matchRedirectUri ? { matchRedirectUri: true } : {}) }),
      ),
    };
  } catch (error) {
    return { error: toOAuthError(error, 'invalid_callback') };
  }
}

/** 8 random bytes, hex: public, so the inspector can link the two halves of a flow (it is kept in every pending record, so short). */
export function createFlowId(random: Services['random']): string {
  return Array.from(random(8), (b) => b.toString(16).padStart(2, '0')).join('');
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The named implementations of authorizationCodeMachine, over the given services and secrets. */
export function authorizationCodeImplementations(services: Services, secrets: ClientSecrets) {
  return {
    actors: {
      prepareAuthorization: fromPromise<PreparedAuthorization, AuthorizationCodeContext>(async ({ input: context, signal }) => {
        try {
          const prepared = await prepareAuthorization(services, secrets, context.input, signal);
          await savePendingFlow(services, { ...context, flow: prepared.flow });
          return prepared;
        } catch (error) {
          throw toOAuthError(error);
        }
      }),
      exchangeCode: fromPromise<TokenSet, ExchangeCodeInput>(async ({ input, signal }) => {
        try {
          // A code, once sent, cannot be taken back: the request is not aborted when the actor stops
          // or leaves the state (the timeout still bounds it), and tokens that arrive then are stored.
          const tokens = await exchangeCode(services, secrets, input);
          if (signal.aborted) await keepArrivedTokens(services, input, tokens);
          return tokens;
        } catch (error) {
          const failure = toOAuthError(error, 'network_error');
          return Promise.reject(isSafeToRepeat(input.flow.provider, failure) ? failure : notRepeated(failure, 'the code may have been redeemed, and a code is single-use'));
        }
      }),
      storeTokens: fromPromise<void, StoreTokensInput>(({ input }) => storeTokens(services, input)),
    },
    guards: {
      isFlowExpired: ({ context }: { context: AuthorizationCodeContext }) =>
        !!context.flow && services.clock.now() - context.flow.createdAt >= context.flow.provider.authorization!.codeLifetimeMs,
      isCallbackInvalid: ({ context, event }: { context: AuthorizationCodeContext; event: { type: string } }) =>
        callbackOutcome(context, event).error !== undefined,
      // A code is single-use: the exchange is repeated only when it cannot have been redeemed.
      canRetry: ({ context, event }: { context: AuthorizationCodeContext; event: { type: string; error?: unknown } }) =>
        canRetry(event.error, context.attempt + 1, services.retry) && isSafeToRepeat(context.flow!.provider, event.error),
    },
    delays: {
      retryDelay: ({ context }: { context: AuthorizationCodeContext }) =>
        backoffDelay(context.attempt - 1, services.retry, services.random, context.retryAfterMs),
      codeLifetime: ({ context }: { context: AuthorizationCodeContext }) =>
        context.flow ? Math.max(0, context.flow.createdAt + context.flow.provider.authorization!.codeLifetimeMs - services.clock.now()) : 0,
    },
  };
}
