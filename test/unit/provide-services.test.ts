import { createActor, createMachine, toPromise, waitFor } from 'xstate';
import { describe, expect, it } from 'vitest';
import * as machines from '../../machines/index.js';
import { provideServices } from '../../machines/index.js';
import { OAuthError, memoryStorage } from '../../src/index.js';
import { genericOAuth2 } from '../../src/providers/index.js';

const provider = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/a', tokenEndpoint: 'https://as.example/t' });

describe('provideServices: each machine brings its own implementations', () => {
  const shipped = Object.entries(machines).filter(([name]) => name.endsWith('Machine'));

  it('knows every shipped machine, each by its id', () => {
    expect(shipped.map(([name]) => name).sort()).toEqual([
      'authorizationCodeMachine',
      'clientAssertionMachine',
      'clientCredentialsMachine',
      'deviceAuthorizationMachine',
      'refreshTokenMachine',
      'tokenSessionMachine',
    ]);
    for (const [, machine] of shipped) expect(() => provideServices(machine as never)).not.toThrow();
  });

  it('a machine it does not know is invalid_configuration, field machine', () => {
    const foreign = createMachine({ id: 'somethingElse' });
    let error: unknown;
    try {
      provideServices(foreign);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ code: 'invalid_configuration', field: 'machine', message: expect.stringContaining('"somethingElse"') });
  });

  it('the services given are the ones the machine uses, also for a machine already provided', async () => {
    const storage = memoryStorage();
    const provided = provideServices(machines.authorizationCodeMachine.provide({}), { storage });
    const actor = createActor(provided, { input: { provider, client: { clientId: 'app', redirectUri: 'https://app.example/cb' } } }).start();
    const snapshot = await waitFor(actor, (s) => s.matches('awaitingCallback'));
    // The pending flow went to the storage given here, under the flow's state.
    expect(await storage.get(`grantflow:as:app:flow:${snapshot.context.state}`)).toEqual(expect.any(String));
    actor.stop();
  });

  it('the token session refreshes through its child with the same services', async () => {
    const storage = memoryStorage();
    const session = provideServices(machines.tokenSessionMachine, { storage });
    const child = session.implementations.actors.refreshSession as unknown as typeof machines.refreshTokenMachine;
    // The child is a provided refresh machine: it reads the tokens from this storage, and finds none.
    const output = await toPromise(createActor(child, { input: { provider, client: { clientId: 'app' } } }).start());
    expect(output).toMatchObject({ status: 'failed', error: { code: 'reauthorization_required' } });
  });
});
