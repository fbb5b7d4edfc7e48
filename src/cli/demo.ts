import type { InspectionEvent } from 'xstate';
import { createOAuthClient } from '../client.js';
import { OAuthError } from '../errors.js';
import type { Provider } from '../provider/schema.js';
import { euRouter, genericOAuth2, openRouter, pathOfExile, poe, poems } from '../providers/index.js';
import { fakeEuRouter, fakeOpenRouter, fakePathOfExile, fakePoe, fakePoems, rebaseProvider } from '../testing/index.js';
import { formatTokenSet } from './format.js';
import { importOidcProvider, startOidcServer } from './oidc-server.js';
import { serveFetch } from './serve-fetch.js';

const CLIENT_ID = 'grantflow-demo';
const REDIRECT_URI = 'http://localhost:3000/callback';
const USER_AGENT = `OAuth ${CLIENT_ID}/0.1.0 (contact: demo@example.com)`;
const CLIENT_SECRET = 'demo-secret-not-for-production';

/** A local authorization server the demo runs against, and how the "user" approves there. */
interface DemoServer {
  label: string;
  provider: Provider;
  clientSecret?: string;
  userAgent?: string;
  approve(authorizationUrl: string): Promise<string>;
  stop(): Promise<void>;
}

const fakes = {
  poe: { data: poe, create: fakePoe, secret: false },
  'path-of-exile': { data: pathOfExile, create: fakePathOfExile, secret: true },
  openrouter: { data: openRouter, create: fakeOpenRouter, secret: false },
  eurouter: { data: euRouter, create: fakeEuRouter, secret: false },
  poems: { data: poems, create: fakePoems, secret: true },
} as const;

export const DEMO_PROVIDERS = ['oidc', ...Object.keys(fakes)] as const;

async function oidcServer(Provider: unknown): Promise<DemoServer> {
  const server = await startOidcServer({
    Provider,
    clients: [{ client_id: CLIENT_ID, token_endpoint_auth_method: 'none', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }],
  });
  return {
    label: `oidc-provider (a certified OpenID authorization server) at ${server.issuer}`,
    provider: genericOAuth2({ id: 'local-oidc', name: 'local oidc-provider', issuer: server.issuer, authorizationEndpoint: server.authorizationEndpoint, tokenEndpoint: server.tokenEndpoint, defaultScopes: ['openid', 'api:read'] }),
    approve: (url) => server.approve(url),
    stop: () => server.stop(),
  };
}

async function fakeServer(id: keyof typeof fakes): Promise<DemoServer> {
  const entry = fakes[id];
  const fake = entry.create({ clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI], ...(entry.secret ? { clientSecret: CLIENT_SECRET } : {}) }] });
  const served = await serveFetch((request) => fake.fetch(request));
  return {
    label: `the ${entry.data.name} fake (grantflow/testing, written from ${entry.data.name}'s document) at ${served.origin}`,
    provider: rebaseProvider(entry.data, served.origin),
    ...(entry.secret ? { clientSecret: CLIENT_SECRET } : {}),
    ...(entry.data.userAgent ? { userAgent: USER_AGENT } : {}),
    approve: (url) => fake.approve(url),
    stop: () => served.close(),
  };
}

/** Prints each state the root machine enters. */
function transitionPrinter(log: (line: string) => void) {
  let last = '';
  return (event: InspectionEvent) => {
    if (event.type !== '@xstate.snapshot' || event.actorRef.sessionId !== event.rootId) return;
    const value = (event.snapshot as { value?: unknown }).value;
    if (value === undefined) return;
    const state = typeof value === 'string' ? value : JSON.stringify(value);
    if (state !== last) log(`  → ${state}`);
    last = state;
  };
}

export interface DemoOptions {
  /** Imports oidc-provider's Provider class (tests replace it to play a packed grantflow, which has no dev dependencies). */
  importOidcProvider?: () => Promise<unknown>;
}

/** The demo that runs when oidc-provider is not installed: a fake that grantflow itself ships. */
const FALLBACK = 'poe';

/**
 * The whole code + PKCE flow through createOAuthClient against a local server. Exit code 0 on
 * success. Without a provider it runs oidc-provider, a dev dependency; where that is not
 * installed (`npx grantflow demo`), it runs the Poe fake instead, with a note.
 */
export async function runDemo(requested: string | undefined, log: (line: string) => void = console.log, options: DemoOptions = {}): Promise<number> {
  let providerId = requested ?? 'oidc';
  if (!(DEMO_PROVIDERS as readonly string[]).includes(providerId)) {
    log(`unknown provider "${providerId}"; choose one of: ${DEMO_PROVIDERS.join(', ')}`);
    return 2;
  }
  let Provider: unknown;
  if (providerId === 'oidc') {
    try {
      Provider = await (options.importOidcProvider ?? importOidcProvider)();
    } catch {
      if (requested !== undefined) {
        log('the oidc demo needs oidc-provider, a dev dependency of grantflow: run it from a clone after `npm ci`, or choose --provider poe');
        return 1;
      }
      log(`note: oidc-provider (a dev dependency) is not installed, so the demo runs against grantflow's own ${FALLBACK} fake; --provider <${DEMO_PROVIDERS.slice(1).join('|')}> chooses another`);
      providerId = FALLBACK;
    }
  }
  let server: DemoServer;
  try {
    server = providerId === 'oidc' ? await oidcServer(Provider) : await fakeServer(providerId as keyof typeof fakes);
  } catch (error) {
    log(`failed to start the local server: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  try {
    log(`grantflow demo: authorization code + PKCE against ${server.label}`);
    const client = createOAuthClient({
      provider: server.provider,
      clientId: CLIENT_ID,
      redirectUri: REDIRECT_URI,
      ...(server.clientSecret ? { clientSecret: server.clientSecret } : {}),
      ...(server.userAgent ? { userAgent: server.userAgent } : {}),
      inspect: transitionPrinter(log),
    });
    log('startAuthorization()');
    const { url, state } = await client.startAuthorization();
    log(`  authorization URL: ${url}`);
    log(`  state: ${state.slice(0, 8)}…`);
    log('the user approves (automatically)');
    const callbackUrl = await server.approve(url);
    log(`  callback: ${callbackUrl.replace(/([?&]code=)[^&]+/, '$1[redacted]')}`);
    log('completeAuthorization(callbackUrl)');
    const tokens = await client.completeAuthorization(callbackUrl);
    log('TokenSet (secrets shortened):');
    log(formatTokenSet(tokens, Date.now()));
    log('done.');
    return 0;
  } catch (error) {
    if (error instanceof OAuthError) log(`failed: ${error.code}: ${error.message}`);
    else log(`failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await server.stop();
  }
}
