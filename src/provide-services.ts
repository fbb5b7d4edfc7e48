import type { AnyStateMachine } from 'xstate';
import { OAuthError } from './errors.js';
import { cancelledOnStop } from './grants/stop-output.js';
import type { ClientSecrets } from './secrets.js';
import { resolveServices, type ProvidedServices } from './services/defaults.js';
import type { Services } from './services/types.js';

type Implementations = (services: Services, secrets: ClientSecrets, machine: AnyStateMachine) => object;

/** Each grant machine's implementations, by machine id. */
const implementationsById: Record<string, Implementations> = {};

/**
 * Registers a grant machine's implementations with provideServices and returns the machine. Every
 * file in machines/ wraps its machine in it, marked `@__PURE__`, so a bundler that drops an unused
 * machine drops its registration and its grant's code with it — in a single built file too (dist/),
 * where a bare registration statement could not be dropped. provideServices imports no grant.
 */
export function grantMachine<TMachine extends AnyStateMachine>(machine: TMachine, implementations: Implementations): TMachine {
  implementationsById[machine.id] = implementations;
  return machine;
}

/** The machine with the implementations of its id, for these services and secrets (also used for a machine's child). */
export function withImplementations<TMachine extends AnyStateMachine>(machine: TMachine, services: Services, secrets: ClientSecrets): TMachine {
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
