import type { AnyStateMachine } from 'xstate';
import { OAuthError } from './errors.js';
import { authorizationCodeImplementations } from './grants/authorization-code.js';
import { refreshTokenImplementations } from './grants/refresh-token.js';
import type { ClientSecrets } from './secrets.js';
import { resolveServices, type ProvidedServices } from './services/defaults.js';
import type { Services } from './services/types.js';

type Implementations = (services: Services, secrets: ClientSecrets) => object;

/** Each grant machine's implementations, by machine id. */
const implementationsById: Record<string, Implementations> = {
  authorizationCode: authorizationCodeImplementations,
  refreshToken: refreshTokenImplementations,
};

/**
 * Injects services and secrets into a grant machine's named actors, guards and delays. Secrets
 * stay in the closures: never in input, context or a persisted snapshot.
 */
export function provideServices<TMachine extends AnyStateMachine>(machine: TMachine, services: ProvidedServices = {}): TMachine {
  const implementations = implementationsById[machine.id];
  if (!implementations) {
    throw new OAuthError('invalid_configuration', `provideServices does not know the machine "${machine.id}"`, { field: 'machine' });
  }
  const { secrets = {}, ...rest } = services;
  return machine.provide(implementations(resolveServices(rest), secrets) as never) as TMachine;
}
