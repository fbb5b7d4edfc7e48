/**
 * The world a runnable block runs in: a fake provider in place of the network, and a real value
 * for each PRELUDE name the block uses.
 *
 * - The block's global `fetch` is the fake (so `http: fetch`, and the default http, reach it); a
 *   request the fake does not serve — another host — is refused: no sample touches the network.
 *   The built-in fakes answer at their provider's own hosts; `generic` answers at the hosts
 *   RFC 2606 reserves for examples (id.example.com, id.corp.example).
 * - The user: an authorization URL the block passes to `redirect(url)`, or binds at top level
 *   (`const { url } = await client.startAuthorization()`), is approved at the fake between two
 *   statements; `callbackUrl` and `request` are then the callback the provider redirects to. A
 *   device code shown is entered and approved the same way.
 * - `client`, and `provider` with `userId` or `key`: the app signed that user in earlier, so their
 *   tokens are in the block's `storage`.
 * - The fake's registered clients: the app's own (CLIENT_ID, the PRELUDE's `clientId`), the ones
 *   the samples name (FAKES[…].clients), and a file's own first where it needs them (FILES).
 */
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { createInspector } from '@statelyai/inspect';
import { createClient } from 'redis';
import { createOAuthClient, memoryStorage, type OAuthClient, type Provider } from '../../../src/index.js';
import { euRouter, genericOAuth2, openRouter, pathOfExile, poe, poems } from '../../../src/providers/index.js';
import { fakeEuRouter, fakeOpenRouter, fakePathOfExile, fakePoe, fakePoems, type FakeClient, type FakeProvider } from '../../../src/testing/index.js';
import { startRedisServer, type RedisServer } from '../../support/redis-server.js';
import { AUTHORIZE_PATHS, genericFake, type GenericFake } from './generic-fake.js';
import { describeError, type BlockHarness } from './runner.js';

/** The app's configuration, as the PRELUDE names it. */
export const CLIENT_ID = 'docs-app';
export const CLIENT_SECRET = 'docs-app-secret-0123456789';
export const REDIRECT_URI = 'https://app.example/callback';
export const USER = 'user-42';

/** A generic authorization server, as `provider` of a `run=generic` block. */
export const GENERIC_ISSUER = 'https://id.example.com';
const genericProvider = genericOAuth2({
  id: 'example',
  issuer: GENERIC_ISSUER,
  authorizationEndpoint: `${GENERIC_ISSUER}/authorize`,
  tokenEndpoint: `${GENERIC_ISSUER}/token`,
  revocationEndpoint: `${GENERIC_ISSUER}/revoke`,
  deviceAuthorizationEndpoint: `${GENERIC_ISSUER}/device/auth`,
});

/** RFC 2606: the names reserved for examples, where the generic fake answers. */
const EXAMPLE_HOST = /(^|\.)example(\.(com|net|org))?$/;

interface FakeKind {
  provider: Provider;
  create(clients: FakeClient[]): FakeProvider;
  /** Clients registered at the fake beyond the app's own (CLIENT_ID), by the samples' ids. */
  clients(): Promise<FakeClient[]>;
  /** Whether the fake answers at this URL's host. */
  serves(url: URL): boolean;
  isAuthorizationUrl(url: URL): boolean;
}

const hostsOf = (provider: Provider) =>
  new Set([provider.authorization?.url, provider.token.url, provider.revocation?.url, provider.deviceAuthorization?.url].filter((u) => u !== undefined).map((u) => new URL(u).host));
const atEndpoint = (provider: Provider) => (url: URL) => {
  const endpoint = provider.authorization ? new URL(provider.authorization.url) : undefined;
  return endpoint !== undefined && url.host === endpoint.host && url.pathname === endpoint.pathname;
};
const builtIn = (provider: Provider, create: (clients: FakeClient[]) => FakeProvider, clients: () => Promise<FakeClient[]> = async () => []): FakeKind => ({
  provider,
  create,
  clients,
  serves: (url) => hostsOf(provider).has(url.host),
  isAuthorizationUrl: atEndpoint(provider),
});

/** One RSA key for the samples that sign client assertions (`pem`, `pemOrJwk`), made when first needed. */
let keyPair: Promise<{ pem: string; publicKeyJwk: JsonWebKey }> | undefined;
const rsaKey = () =>
  (keyPair ??= generateKeyPair('RS256', { extractable: true }).then(async ({ publicKey, privateKey }) => ({
    pem: await exportPKCS8(privateKey),
    publicKeyJwk: { ...(await exportJWK(publicKey)), alg: 'RS256', use: 'sig' },
  })));

/** The fakes a block can name on its fence line (```ts run=<fake>). */
export const FAKES: Record<string, FakeKind> = {
  poe: builtIn(poe, (clients) => fakePoe({ clients }), async () => [{ clientId: 'my-app', redirectUris: ['http://localhost:3000/callback'] }]),
  'path-of-exile': builtIn(
    pathOfExile,
    (clients) => fakePathOfExile({ clients }),
    async () => [
      { clientId: 'my-tool', redirectUris: ['http://127.0.0.1:8080/callback', 'https://my-tool.example/callback'] },
      { clientId: 'my-service', clientSecret: CLIENT_SECRET, redirectUris: [] },
    ],
  ),
  openrouter: builtIn(openRouter, (clients) => fakeOpenRouter({ clients })),
  eurouter: builtIn(euRouter, (clients) => fakeEuRouter({ clients })),
  poems: builtIn(poems, (clients) => fakePoems({ clients })),
  generic: {
    provider: genericProvider,
    create: (clients) => genericFake({ clients }),
    clients: async () => [],
    serves: (url) => url.protocol === 'https:' && EXAMPLE_HOST.test(url.hostname),
    isAuthorizationUrl: (url) => EXAMPLE_HOST.test(url.hostname) && AUTHORIZE_PATHS.includes(url.pathname),
  },
};

/** What one file's blocks need beyond the defaults: their environment, clients registered first. */
interface FileHarness {
  env?: Record<string, string>;
  clients?: Record<string, FakeClient[]>;
}

export const FILES: Record<string, FileHarness> = {
  // "In an app": my-tool is a confidential client there (its secret in the environment), a public one in docs/providers/path-of-exile.md.
  'README.md': {
    env: { POE_CLIENT_SECRET: CLIENT_SECRET },
    clients: { 'path-of-exile': [{ clientId: 'my-tool', clientSecret: CLIENT_SECRET, redirectUris: ['https://my-tool.example/callback'] }] },
  },
};

let redisServer: Promise<RedisServer> | undefined;
/** A redis-server for the blocks that use Redis, started when the first one runs. */
const redisUrl = async () => (await (redisServer ??= startRedisServer())).url;
export async function stopRedis(): Promise<void> {
  if (redisServer) await (await redisServer).stop();
}

/** Whether a block needs a redis-server (`redis`, or an import of node-redis or the Redis storage). */
export const needsRedis = (params: readonly string[], imports: readonly string[]) =>
  params.includes('redis') || imports.includes('redis') || imports.includes('grantflow/storage/redis');

/** App callbacks (and inspectors) a block hands to the library: each must have been called by the time the block ends. */
const CALLBACKS = ['redirect', 'useToken', 'render', 'inspect', 'inspector'];

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const isActor = (value: unknown): value is { stop(): void } =>
  isObject(value) && typeof value.stop === 'function' && typeof value.getSnapshot === 'function' && typeof value.send === 'function';
const isRedisClient = (value: unknown): value is { isOpen: boolean; destroy(): void } => isObject(value) && 'isOpen' in value && typeof value.destroy === 'function';

/** What a block left wrong in its top-level bindings: a grant that did not succeed, an error kept aside. */
export function problemsIn(bindings: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(bindings)) {
    if (value instanceof Error) problems.push(`\`${name}\` is an error (${describeError(value)})`);
    else if (isObject(value)) {
      if (typeof value.status === 'string' && ['failed', 'cancelled', 'expired'].includes(value.status)) {
        problems.push(`\`${name}\` is { status: '${value.status}' } (${describeError(value.error)})`);
      }
      for (const field of ['storageError', 'revocationError']) if (value[field] instanceof Error) problems.push(`\`${name}.${field}\` is set (${describeError(value[field])})`);
    }
  }
  return problems;
}

export interface HarnessOptions {
  /** The fake named on the fence line; '' for none. */
  fake: string;
  file: string;
  /** The block uses Redis (needsRedis): a redis-server is started for it, at REDIS_URL. */
  redis: boolean;
}

export async function createHarness(options: HarnessOptions): Promise<BlockHarness> {
  const notes: string[] = [];
  const kind = options.fake === '' ? undefined : FAKES[options.fake];
  if (options.fake !== '' && !kind) throw new Error(`unknown fake "${options.fake}" on the fence line: one of ${Object.keys(FAKES).join(', ')}`);
  const file = FILES[options.file] ?? {};
  const appClient: FakeClient = {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUris: [REDIRECT_URI, 'https://my-app.example/callback'],
    // POEMS: client credentials with an RS256 assertion, signed with `pem`.
    ...(kind === FAKES.poems ? { publicKeyJwk: (await rsaKey()).publicKeyJwk } : {}),
  };
  const fake = kind?.create([...(file.clients?.[options.fake] ?? []), ...(await kind.clients()), appClient]);
  const storage = memoryStorage();
  const calls = new Map<string, number>();
  const called = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);
  const opened: Array<{ isOpen: boolean; destroy(): void }> = [];
  let env: Record<string, string> = { ...file.env };

  // The user, at the provider.
  let callbackUrl: string | undefined;
  const seen = new Set<unknown>();
  const approvals: Array<Promise<void>> = [];
  const follow = (url: string, why: string) => {
    if (!fake) throw new Error(`${why}: this block needs a fake provider (\`run=<fake>\` on its fence line)`);
    approvals.push(
      fake.approve(url).then(
        (callback) => {
          callbackUrl = callback;
          notes.push(`the user approved ${url.split('?')[0]} (${why}); callback ${callback.split('?')[0]}`);
        },
        (error: unknown) => {
          throw new Error(`the user could not approve ${url} (${why}): ${describeError(error)}`);
        },
      ),
    );
  };
  const authorizationUrl = (value: unknown): string | undefined => {
    const text = typeof value === 'string' ? value : isObject(value) && typeof value.url === 'string' ? value.url : undefined;
    if (text === undefined || !kind) return undefined;
    try {
      return kind.isAuthorizationUrl(new URL(text)) ? text : undefined;
    } catch {
      return undefined;
    }
  };

  const http: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!fake || !kind?.serves(url)) {
      notes.push(`refused ${url.origin}${url.pathname}: ${fake ? `the ${options.fake} fake does not answer there` : 'no fake on the fence line'}; a sample never uses the network`);
      throw new TypeError('fetch failed', { cause: new Error(`no network in docs samples: ${url.href}`) });
    }
    return fake(input, init);
  };

  /** The app's client, with its user signed in earlier (tokens in `storage`). */
  let signedIn: Promise<OAuthClient> | undefined;
  const signIn = () =>
    (signedIn ??= (async () => {
      if (!kind || !fake) throw new Error('`client` and stored tokens need a fake provider (`run=<fake>` on the fence line)');
      const provider = kind.provider;
      const app = createOAuthClient({
        provider,
        clientId: CLIENT_ID,
        ...(provider.token.authMethods.includes('client_secret_basic') || provider.token.authMethods.includes('client_secret_post') ? { clientSecret: CLIENT_SECRET } : {}),
        redirectUri: REDIRECT_URI,
        ...(provider.userAgent?.required ? { userAgent: `OAuth ${CLIENT_ID}/1.0.0 (contact: docs@example.com)` } : {}),
        storage,
        http: fake,
      });
      const { url } = await app.startAuthorization({ key: USER });
      await app.completeAuthorization(await fake.approve(url));
      notes.push(`${USER} was signed in earlier at the ${options.fake} fake`);
      return app;
    })());

  const factories: Record<string, () => unknown> = {
    redis: async () => {
      const client = createClient({ url: await redisUrl() });
      client.on('error', () => {});
      await client.connect();
      await client.flushAll();
      opened.push(client);
      return client;
    },
    storage: () => storage,
    inspect: () => () => void called('inspect'),
    // @statelyai/inspect's own inspector, with an adapter that receives what a browser's would be sent.
    inspector: () => createInspector({ send: () => void called('inspector'), start() {}, stop() {} }),
    client: () => signIn(),
    provider: () => {
      if (!kind) throw new Error('`provider` needs a fake provider (`run=<fake>` on the fence line)');
      return kind.provider;
    },
    clientId: () => CLIENT_ID,
    clientSecret: () => CLIENT_SECRET,
    redirectUri: () => REDIRECT_URI,
    pem: async () => (await rsaKey()).pem,
    pemOrJwk: async () => (await rsaKey()).pem,
    keyBytes: () => crypto.getRandomValues(new Uint8Array(32)),
    userId: () => USER,
    key: () => USER,
    callbackUrl: () => callbackUrl,
    request: () => (callbackUrl === undefined ? undefined : new Request(callbackUrl)),
    redirect: () => (url: string) => {
      called('redirect');
      // An authorization URL the block bound at top level is followed already.
      if (seen.has(url)) return;
      seen.add(url);
      follow(url, 'redirect(url)');
    },
    button: () => {
      throw new Error('`button` is a DOM element: a block that uses it runs in a browser, not here');
    },
    render: () => (what: string) => {
      called('render');
      notes.push(`render(${JSON.stringify(what)})`);
    },
    useToken: () => (accessToken: string) => {
      if (typeof accessToken !== 'string' || accessToken === '') throw new Error(`useToken got ${String(accessToken)}`);
      called('useToken');
    },
  };
  let used: readonly string[] = [];

  return {
    provides: Object.keys(factories),
    fetch: http,
    get env() {
      return env;
    },
    async values(names) {
      used = names;
      // docs/storage.md: `createClient({ url: process.env.REDIS_URL })`.
      if (options.redis) env = { ...env, REDIS_URL: await redisUrl() };
      // The user signed in earlier, where the block reads stored tokens.
      if (names.includes('provider') && (names.includes('userId') || names.includes('key'))) await signIn();
      const values: unknown[] = [];
      for (const name of names) {
        const factory = factories[name];
        if (!factory) throw new Error(`the harness has no value for \`${name}\``);
        values.push(await factory());
      }
      return values;
    },
    step(_index, bindings) {
      for (const value of Object.values(bindings)) {
        if (seen.has(value)) continue;
        seen.add(value);
        const url = authorizationUrl(value);
        if (url !== undefined) follow(url, 'an authorization URL the block made');
      }
      (fake as GenericFake | undefined)?.approveDevices?.();
      const current = () => ({ callbackUrl, request: callbackUrl === undefined ? undefined : new Request(callbackUrl) });
      if (approvals.length === 0) return current();
      return (async () => {
        while (approvals.length > 0) await approvals.shift();
        return current();
      })();
    },
    async finish(bindings) {
      // A redirect made after the last statement (in a callback) is followed all the same.
      while (approvals.length > 0) await approvals.shift();
      const problems = problemsIn(bindings);
      for (const name of CALLBACKS.filter((n) => used.includes(n))) {
        const deadline = Date.now() + 1_000;
        while (!calls.has(name) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        if (!calls.has(name)) problems.push(`\`${name}\` was never called`);
      }
      return problems;
    },
    transcript: () => {
      if (callbackUrl === undefined && (used.includes('callbackUrl') || used.includes('request'))) {
        notes.push('no authorization URL was followed (none bound at top level or passed to redirect), so `callbackUrl` and `request` were undefined');
      }
      return [...new Set(notes)].map((n) => `harness: ${n}`);
    },
    async cleanup(bindings) {
      for (const value of Object.values(bindings)) {
        if (isActor(value)) value.stop();
        else if (isRedisClient(value) && value.isOpen) value.destroy();
      }
      for (const client of opened) if (client.isOpen) client.destroy();
    },
  };
}
