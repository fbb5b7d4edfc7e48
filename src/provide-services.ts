import type { AnyStateMachine } from 'xstate';
import { OAuthError } from './errors.js';
import { authorizationCodeImplementations } from './grants/authorization-code.js';
import { clientCredentialsImplementations } from './grants/client-credentials.js';
import { refreshTokenImplementations } from './grants/refresh-token.js';
import { cancelledOnStop } from './grants/stop-output.js';
import { tokenSessionImplementations } from './grants/token-session.js';
import type { ClientSecrets } from './secrets.js';
import { resolveServices, type ProvidedServices } from './services/defaults.js';
import type { Services } from './services/types.js';

type Implementations = (services: Services, secrets: ClientSecrets, machine: AnyStateMachine) => object;

/** Each grant machine's implementations, by machine id. */
const implementationsById: Record<string, Implementations> = {
  authorizationCode: authorizationCodeImplementations,
  refreshToken: refreshTokenImplementations,
  clientCredentials: (services, secrets) => clientCredentialsImplementations(services, secrets, 'secret'),
  clientAssertion: (services, secrets) => clientCredentialsImplementations(services, secrets, 'assertion'),
  // The session refreshes through its child machine (refreshTokenMachine), given the same services and secrets.
  tokenSession: (services, secrets, machine) =>
    tokenSessionImplementations(services, secrets, withImplementations(machine.implementations.actors.refreshSession as AnyStateMachine, services, secrets)),
};

/**
 * A machine that not every app uses registers its implementations when its own module loads
 * (machines/device-authorization.ts), so a bundle without it carries none of its code.
 */
export function registerImplementations(machineId: string, implementations: Implementations): void {
  implementationsById[machineId] = implementations;
}

function withImplementations<TMachine extends AnyStateMachine>(machine: TMachine, services: Services, secrets: ClientSecrets): TMachine {
  const implementations = implementationsById[machine.id];
  if (!implementations) {
    throw new OAuthError('invalid_configuration', `provideServices does not know the machine "${machine.id}"`, { field: 'machine' });
  }
  return cancelledOnStop(machine.provide(implementations(services, secrets, machine) as never) as TMachine);
}

/**
 * Injects services and secrets into a grant machine's named actors, guards and delays. Secrets
 * stay in the closures: never in input, context or a persisted snapshot.
 */
export function provideServices<TMachine extends AnyStateMachine>(machine: TMachine, services: ProvidedServices = {}): TMachine {
  const { secrets = {}, ...rest } = services;
  return withImplementations(machine, resolveServices(rest), secrets);
}
