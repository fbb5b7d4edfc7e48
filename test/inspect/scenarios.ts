/**
 * Every grant with every built-in provider's fake, success and error paths, through the facade
 * and through createGrantActor: the runs the inspector suites watch. Browser-safe (the Chromium
 * suite bundles it), so no Node API here.
 */
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { toPromise, waitFor } from 'xstate';
import { authorizationCodeMachine, clientAssertionMachine, createGrantActor, provideServices, tokenSessionMachine } from '../../machines/index.js';
import { createOAuthClient, memoryStorage, type Inspector, type OAuthClient, type Storage } from '../../src/index.js';
import { euRouter, openRouter, pathOfExile, poe, poems } from '../../src/providers/index.js';
import type { ProviderInput } from '../../src/provider/schema.js';
import { fakeEuRouter, fakeOpenRouter, fakePathOfExile, fakePoe, fakePoems, type FakeProvider } from '../../src/testing/index.js';
import { SecretRecorder } from './secret-recorder.js';

export interface ScenarioContext {
  inspect: Inspector;
  recorder: SecretRecorder;
  /** Passed to the facade: show secrets to the inspector (local debugging). */
  revealSecrets?: boolean;
}

export interface Scenario {
  name: string;
  /** Resolves with the outcome: `succeeded` or the error code. */
  run(context: ScenarioContext): Promise<string>;
}

const REDIRECT = 'https://app.example.com/callback';
const USER_AGENT = 'OAuth app/1.0.0 (contact: dev@example.com)';
const RETRY = { baseDelayMs: 1, maxDelayMs: 2 };

/** `succeeded`, or the code of the error the work failed with. */
export const outcomeOf = async (work: Promise<unknown>): Promise<string> => {
  try {
    await work;
    return 'succeeded';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
};

interface CodeFlowCase {
  name: string;
  provider: ProviderInput;
  fake: () => FakeProvider;
  clientSecret?: string;
  apiKey?: string;
  userAgent?: string;
  scopes?: string[];
}

const KEY_SECRET = 'p@ss word:1-inspected-secret';
const POE_SECRET = 'poe-client-secret-inspected';
const API_KEY = 'poems-gateway-api-key-inspected';
const poemsWithApiKey = { ...poems, apiKey: { in: 'header' as const, name: 'X-Api-Key' } };

const codeFlows: CodeFlowCase[] = [
  { name: 'poe', provider: poe, fake: () => fakePoe({ clients: [{ clientId: 'app', redirectUris: [REDIRECT] }] }) },
  {
    name: 'path-of-exile',
    provider: pathOfExile,
    fake: () => fakePathOfExile({ clients: [{ clientId: 'app', redirectUris: [REDIRECT], clientSecret: POE_SECRET }] }),
    clientSecret: POE_SECRET,
    userAgent: USER_AGENT,
    scopes: ['account:profile'],
  },
  { name: 'openrouter', provider: openRouter, fake: () => fakeOpenRouter() },
  { name: 'eurouter', provider: euRouter, fake: () => fakeEuRouter() },
  {
    name: 'poems',
    provider: poemsWithApiKey,
    fake: () => fakePoems({ clients: [{ clientId: 'app', redirectUris: [REDIRECT], clientSecret: KEY_SECRET }] }),
    clientSecret: KEY_SECRET,
    apiKey: API_KEY,
  },
];

function clientFor(c: CodeFlowCase, fake: FakeProvider, context: ScenarioContext, storage: Storage = memoryStorage()): OAuthClient {
  if (c.clientSecret) context.recorder.add(c.clientSecret);
  if (c.apiKey) context.recorder.add(c.apiKey);
  return createOAuthClient({
    provider: c.provider,
    clientId: 'app',
    redirectUri: REDIRECT,
    ...(c.clientSecret ? { clientSecret: c.clientSecret } : {}),
    ...(c.apiKey ? { apiKey: c.apiKey } : {}),
    ...(c.userAgent ? { userAgent: c.userAgent } : {}),
    http: context.recorder.http(fake.fetch),
    storage,
    retry: RETRY,
    inspect: context.inspect,
    ...(context.revealSecrets ? { revealSecrets: true } : {}),
  });
}

async function login(client: OAuthClient, fake: FakeProvider, context: ScenarioContext, scopes?: string[], answer: 'approve' | 'deny' = 'approve') {
  const { url } = await client.startAuthorization(scopes ? { scopes } : {});
  const callback = answer === 'approve' ? await fake.approve(url) : await fake.deny(url);
  if (answer === 'approve') context.recorder.addCallback(callback);
  return client.completeAuthorization(callback);
}

function codeScenario(c: CodeFlowCase, name: string, act: (client: OAuthClient, fake: FakeProvider, context: ScenarioContext) => Promise<unknown>): Scenario {
  return {
    name: `${c.name}: ${name}`,
    run: (context) => {
      const fake = c.fake();
      return outcomeOf(act(clientFor(c, fake, context), fake, context));
    },
  };
}

const codeScenarios: Scenario[] = codeFlows.flatMap((c) => [
  codeScenario(c, 'code flow, approved (facade)', (client, fake, context) => login(client, fake, context, c.scopes)),
  codeScenario(c, 'code flow, denied (facade)', (client, fake, context) => login(client, fake, context, c.scopes, 'deny')),
  codeScenario(c, 'code flow, token endpoint fails once (facade)', (client, fake, context) => {
    fake.failNext('http_500');
    return login(client, fake, context, c.scopes);
  }),
  codeScenario(c, 'code flow, a wrong code refused by the token endpoint (facade)', async (client, fake, context) => {
    const { url } = await client.startAuthorization(c.scopes ? { scopes: c.scopes } : {});
    const callback = new URL(await fake.approve(url));
    context.recorder.addCallback(callback.href);
    callback.searchParams.set('code', `${callback.searchParams.get('code')}-tampered`);
    return client.completeAuthorization(callback.href);
  }),
  codeScenario(c, 'code flow, callback replayed (facade)', async (client, fake, context) => {
    const { url } = await client.startAuthorization(c.scopes ? { scopes: c.scopes } : {});
    const callback = await fake.approve(url);
    context.recorder.addCallback(callback);
    await client.completeAuthorization(callback);
    return client.completeAuthorization(callback);
  }),
  {
    name: `${c.name}: code flow run directly (createGrantActor, callback sent as a plain string)`,
    run: async (context) => {
      const fake = c.fake();
      if (c.clientSecret) context.recorder.add(c.clientSecret);
      if (c.apiKey) context.recorder.add(c.apiKey);
      const machine = provideServices(authorizationCodeMachine, {
        http: context.recorder.http(fake.fetch),
        retry: RETRY,
        secrets: { ...(c.clientSecret ? { clientSecret: c.clientSecret } : {}), ...(c.apiKey ? { apiKey: c.apiKey } : {}) },
      });
      const actor = createGrantActor(machine, {
        input: { provider: c.provider, client: { clientId: 'app', redirectUri: REDIRECT, ...(c.userAgent ? { userAgent: c.userAgent } : {}) }, ...(c.scopes ? { scopes: c.scopes } : {}) },
        inspect: context.inspect,
      }).start();
      const waiting = await waitFor(actor, (s) => s.matches('awaitingCallback') || s.status !== 'active');
      if (waiting.status === 'done') return waiting.output!.status === 'succeeded' ? 'succeeded' : waiting.output!.error.code;
      const callback = await fake.approve(waiting.context.authorizationUrl!);
      context.recorder.addCallback(callback);
      actor.send({ type: 'callback', url: callback });
      const output = await toPromise(actor);
      return output.status === 'succeeded' ? 'succeeded' : output.error.code;
    },
  },
]);

/** Path of Exile: refresh (rotating), then a refused refresh; client credentials, then a wrong secret. */
const pathOfExileCase = codeFlows[1]!;

// POEMS documents no refresh request (its fake refuses one): refresh runs against Path of Exile and oidc-provider.
const refreshScenarios: Scenario[] = [pathOfExileCase].flatMap((c) => [
  codeScenario(c, 'refresh after login (facade)', async (client, fake, context) => {
    await login(client, fake, context, c.scopes);
    await client.refresh();
    return client.getAccessToken();
  }),
  {
    name: `${c.name}: refresh refused, stored set discarded (facade)`,
    run: async (context) => {
      const fake = c.fake();
      const storage = memoryStorage();
      const client = clientFor(c, fake, context, storage);
      const loggedIn = await outcomeOf(login(client, fake, context, c.scopes));
      const stored = await client.getStoredTokens();
      if (!stored) return `login ${loggedIn}`;
      const bogus = { ...stored, refreshToken: `${stored.refreshToken}-revoked-by-test` };
      context.recorder.add(bogus.refreshToken);
      await storage.set(`grantflow:${client.provider.id}:app:tokens:default`, JSON.stringify(bogus));
      return outcomeOf(client.refresh());
    },
  },
  {
    name: `${c.name}: token session refreshes on demand (createGrantActor)`,
    run: async (context) => {
      const fake = c.fake();
      const storage = memoryStorage();
      const loggedIn = await outcomeOf(login(clientFor(c, fake, context, storage), fake, context, c.scopes));
      if (loggedIn !== 'succeeded') return `login ${loggedIn}`;
      const machine = provideServices(tokenSessionMachine, {
        http: context.recorder.http(fake.fetch),
        storage,
        retry: RETRY,
        secrets: { ...(c.clientSecret ? { clientSecret: c.clientSecret } : {}), ...(c.apiKey ? { apiKey: c.apiKey } : {}) },
      });
      const actor = createGrantActor(machine, {
        input: { provider: c.provider, client: { clientId: 'app', redirectUri: REDIRECT, ...(c.userAgent ? { userAgent: c.userAgent } : {}) } },
        inspect: context.inspect,
      }).start();
      await waitFor(actor, (s) => s.matches('active') || s.status !== 'active');
      actor.send({ type: 'refresh' });
      await waitFor(actor, (s) => (s.matches('active') && s.context.attempt === 0 && !s.context.force) || s.status !== 'active');
      actor.send({ type: 'stop' });
      const output = await toPromise(actor);
      return output.status === 'succeeded' ? 'succeeded' : output.error.code;
    },
  },
]);

const SERVICE_SCOPES = ['service:leagues'];
const clientCredentialsScenarios: Scenario[] = [
  {
    name: 'path-of-exile: client credentials with a secret (facade)',
    run: (context) => {
      const fake = fakePathOfExile({ clients: [{ clientId: 'app', redirectUris: [], clientSecret: POE_SECRET }] });
      return outcomeOf(clientFor(pathOfExileCase, fake, context).clientCredentials({ scopes: SERVICE_SCOPES }));
    },
  },
  {
    name: 'path-of-exile: client credentials with a wrong secret (facade)',
    run: (context) => {
      const fake = fakePathOfExile({ clients: [{ clientId: 'app', redirectUris: [], clientSecret: POE_SECRET }] });
      return outcomeOf(clientFor({ ...pathOfExileCase, clientSecret: 'not-the-registered-secret' }, fake, context).clientCredentials({ scopes: SERVICE_SCOPES }));
    },
  },
  ...(['pem', 'jwk'] as const).flatMap((form): Scenario[] => [
    {
      name: `poems: client credentials with an RS256 assertion, key as ${form} (facade)`,
      run: async (context) => {
        const { privateKey, publicKeyJwk } = await keyPair(form, context);
        const fake = fakePoems({ clients: [{ clientId: 'app', redirectUris: [], publicKeyJwk }] });
        const client = createOAuthClient({ provider: poems, clientId: 'app', privateKey, http: context.recorder.http(fake.fetch), retry: RETRY, inspect: context.inspect });
        return outcomeOf(client.clientCredentials({ scopes: ['trade'] }));
      },
    },
    {
      name: `poems: client assertion refused, key not registered, as ${form} (createGrantActor)`,
      run: async (context) => {
        const { privateKey } = await keyPair(form, context);
        // Another key is registered: the server refuses the assertion (the throwaway pair's secrets are not searched for).
        const other = await keyPair('jwk', { recorder: new SecretRecorder() });
        const fake = fakePoems({ clients: [{ clientId: 'app', redirectUris: [], publicKeyJwk: other.publicKeyJwk }] });
        const machine = provideServices(clientAssertionMachine, { http: context.recorder.http(fake.fetch), retry: RETRY, secrets: { privateKey } });
        const actor = createGrantActor(machine, { input: { provider: poems, client: { clientId: 'app' }, scopes: ['trade'] }, inspect: context.inspect }).start();
        const output = await toPromise(actor);
        return output.status === 'succeeded' ? 'succeeded' : output.error.code;
      },
    },
  ]),
];

async function keyPair(form: 'pem' | 'jwk', context: { recorder: SecretRecorder }) {
  const pair = await generateKeyPair('RS256', { extractable: true });
  const publicKeyJwk = (await exportJWK(pair.publicKey)) as JsonWebKey;
  const jwk = (await exportJWK(pair.privateKey)) as JsonWebKey;
  context.recorder.addJwk(jwk);
  const pem = await exportPKCS8(pair.privateKey);
  context.recorder.addPem(pem);
  return { privateKey: form === 'pem' ? pem : jwk, publicKeyJwk };
}

export const fakeScenarios: Scenario[] = [...codeScenarios, ...refreshScenarios, ...clientCredentialsScenarios];
