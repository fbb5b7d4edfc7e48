import { fromPromise, type AnyStateMachine } from 'xstate';
import { toOAuthError } from '../errors.js';
import type { ClientSecrets } from '../secrets.js';
import type { Services } from '../services/types.js';
import { sealTokenSet, type TokenSet } from '../tokens.js';
import { prepareGrant } from './prepare.js';
import { refreshWindowOf } from './refresh-window.js';
import { backoffDelay, canRetry } from './retry.js';
import { readTokens } from './token-store.js';
import type { GrantOutput, TokenSessionInput } from './types.js';
import { OAuthError } from '../errors.js';

export interface TokenSessionContext {
  input: TokenSessionInput;
  tokens?: TokenSet;
  attempt: number;
  /** The next refresh was asked for (`refresh` event): it happens even if the token is fresh. */
  force: boolean;
  error?: OAuthError;
}

/** setTimeout's largest delay (about 24.8 days): a longer wait re-arms itself. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const windowOf = (context: TokenSessionContext) => refreshWindowOf(context.tokens!, context.input.refreshWindowMs);

/** When the session should refresh: the refresh window before expiry (never, for a credential that does not expire). */
export function refreshDelay(services: Services, context: TokenSessionContext): number {
  const expiresAt = context.tokens?.expiresAt;
  if (expiresAt === undefined) return MAX_TIMER_MS;
  return Math.min(MAX_TIMER_MS, Math.max(0, expiresAt - windowOf(context) - services.clock.now()));
}

export function isRefreshDue(services: Services, context: TokenSessionContext): boolean {
  const expiresAt = context.tokens?.expiresAt;
  return expiresAt !== undefined && services.clock.now() >= expiresAt - windowOf(context);
}

/** The named implementations of tokenSessionMachine; its refreshes run refreshTokenMachine as a child. */
export function tokenSessionImplementations(services: Services, secrets: ClientSecrets, refreshMachine: AnyStateMachine) {
  return {
    actors: {
      loadSession: fromPromise<TokenSet, TokenSessionInput>(async ({ input }) => {
        try {
          const { provider } = prepareGrant(input.provider, input.client, secrets, 'refresh_token', { userAgentHeader: services.userAgentHeader });
          const tokens = await readTokens(services, { providerId: provider.id, clientId: input.client.clientId, key: input.key });
          if (!tokens) throw new OAuthError('reauthorization_required', 'no tokens are stored for this key: authorize first', { field: 'key' });
          return sealTokenSet(tokens);
        } catch (error) {
          throw toOAuthError(error);
        }
      }),
      refreshSession: refreshMachine,
    },
    guards: {
      isRefreshDue: ({ context }: { context: TokenSessionContext }) => isRefreshDue(services, context),
      isRefreshed: (_: unknown, params: { output: GrantOutput }) => params.output.status === 'succeeded',
      canRetry: ({ context }: { context: TokenSessionContext }, params: { output: GrantOutput }) =>
        params.output.status !== 'succeeded' && canRetry(params.output.error, context.attempt + 1, services.retry),
    },
    delays: {
      refreshDelay: ({ context }: { context: TokenSessionContext }) => refreshDelay(services, context),
      retryDelay: ({ context }: { context: TokenSessionContext }) => backoffDelay(context.attempt - 1, services.retry, services.random),
    },
  };
}
