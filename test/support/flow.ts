import { createActor, toPromise, waitFor } from 'xstate';
import { authorizationCodeMachine, provideServices, type GrantOutput } from '../../machines/index.js';
import type { ProviderInput } from '../../src/provider/schema.js';
import type { ClientConfig, ClientSecrets } from '../../src/secrets.js';
import { memoryStorage } from '../../src/services/memory-storage.js';
import type { Http, Storage } from '../../src/services/types.js';
import type { FakeProvider } from '../../src/testing/index.js';

export interface FlowOptions {
  provider: ProviderInput;
  fake: FakeProvider;
  client: ClientConfig;
  secrets?: ClientSecrets;
  scopes?: string[];
  /** How the user answers at the provider (default: approve). */
  user?: (fake: FakeProvider, authorizationUrl: string) => Promise<string>;
  /** Wraps the fake's fetch, to send what a misconfigured client would. */
  http?: (fakeFetch: Http) => Http;
  storage?: Storage;
  timeoutMs?: number;
  pkceMethod?: 'S256' | 'plain';
}

/** Runs authorizationCodeMachine end to end against a fake provider, the way an app does. */
export async function runCodeFlow(options: FlowOptions): Promise<{ output: GrantOutput; authorizationUrl: string; callbackUrl: string }> {
  const http = options.http ? options.http(options.fake.fetch) : options.fake.fetch;
  const machine = provideServices(authorizationCodeMachine, {
    http,
    storage: options.storage ?? memoryStorage(),
    secrets: options.secrets ?? {},
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  const actor = createActor(machine, {
    input: {
      provider: options.provider,
      client: options.client,
      ...(options.scopes ? { scopes: options.scopes } : {}),
      ...(options.pkceMethod ? { pkceMethod: options.pkceMethod } : {}),
    },
  }).start();
  const snapshot = await waitFor(actor, (s) => s.matches('awaitingCallback') || s.status === 'done');
  if (snapshot.status === 'done') return { output: snapshot.output!, authorizationUrl: '', callbackUrl: '' };
  const authorizationUrl = snapshot.context.authorizationUrl!;
  const callbackUrl = await (options.user ?? ((fake, url) => fake.approve(url)))(options.fake, authorizationUrl);
  actor.send({ type: 'callback', url: callbackUrl });
  return { output: await toPromise(actor), authorizationUrl, callbackUrl };
}

/** The error code of a failed flow, or 'succeeded'. */
export function outcome(output: GrantOutput): string {
  return output.status === 'succeeded' ? 'succeeded' : output.error.code;
}

/** A fetch wrapper that rewrites the JSON or form body of token requests. */
export function rewriteBody(rewrite: (fields: Record<string, unknown>) => Record<string, unknown>): (inner: Http) => Http {
  return (inner) => async (input, init) => {
    const body = String(init?.body ?? '');
    const headers = new Headers(init?.headers);
    const isJson = (headers.get('content-type') ?? '').includes('json');
    const fields = isJson ? (JSON.parse(body) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(body));
    const next = rewrite(fields);
    const encoded = isJson ? JSON.stringify(next) : new URLSearchParams(next as Record<string, string>).toString();
    return inner(input, { ...init, body: encoded });
  };
}

/** A fetch wrapper that changes the request init (method, headers…). */
export function rewriteInit(rewrite: (init: RequestInit) => RequestInit): (inner: Http) => Http {
  return (inner) => (input, init) => inner(input, rewrite({ ...init }));
}
