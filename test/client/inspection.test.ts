import { toPromise, type InspectionEvent } from 'xstate';
import { clientCredentialsMachine, createGrantActor, provideServices } from '../../machines/index.js';
import { describe, expect, it } from 'vitest';
import { createOAuthClient, REDACTED } from '../../src/index.js';
import { pathOfExile } from '../../src/providers/index.js';
import { fakePathOfExile } from '../../src/testing/index.js';
import { serialise } from '../support/serialise-inspection.js';

const REDIRECT = 'http://localhost:3000/callback';
const SECRET = 'poe-client-secret-value';
const USER_AGENT = 'OAuth app/1.0.0 (contact: dev@example.com)';

async function runFlow(revealSecrets: boolean) {
  const fake = fakePathOfExile({ clients: [{ clientId: 'app', redirectUris: [REDIRECT], clientSecret: SECRET }] });
  const events: InspectionEvent[] = [];
  const client = createOAuthClient({
    provider: pathOfExile,
    clientId: 'app',
    clientSecret: SECRET,
    redirectUri: REDIRECT,
    userAgent: USER_AGENT,
    http: fake.fetch,
    inspect: (event) => events.push(event),
    revealSecrets,
  });
  const { url } = await client.startAuthorization({ scopes: ['account:profile'] });
  const callback = await fake.approve(url);
  const tokens = await client.completeAuthorization(callback);
  const code = new URL(callback).searchParams.get('code')!;
  const verifier = String(fake.requests[0]!.body.code_verifier);
  return { stream: events.map(serialise), secrets: { code, verifier, clientSecret: SECRET, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken! } };
}

describe('inspection', () => {
  it('never shows a secret to the inspector: code, code_verifier, client secret, access and refresh tokens', async () => {
    const { stream, secrets } = await runFlow(false);
    expect(stream.length).toBeGreaterThan(10);
    const all = stream.join('\n');
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length, name).toBeGreaterThan(8);
      expect(all.includes(value), `${name} leaked into the inspection stream`).toBe(false);
    }
    expect(all).toContain(REDACTED);
    // The flow is still visible: every state shows.
    for (const state of ['preparing', 'awaitingCallback', 'exchanging', 'storing', 'succeeded']) expect(all).toContain(`"${state}"`);
  });

  it('shows secrets when the caller opts out of redaction', async () => {
    const { stream, secrets } = await runFlow(true);
    const all = stream.join('\n');
    expect(all.includes(secrets.accessToken)).toBe(true);
    expect(all.includes(secrets.verifier)).toBe(true);
  });
});

describe('inspection of a machine run directly (createGrantActor)', () => {
  it('redacts by default: the client credentials token never reaches the inspector', async () => {
    const fake = fakePathOfExile({ clients: [{ clientId: 'svc', redirectUris: [], clientSecret: SECRET }] });
    const events: InspectionEvent[] = [];
    const machine = provideServices(clientCredentialsMachine, { http: fake.fetch, secrets: { clientSecret: SECRET } });
    const actor = createGrantActor(machine, {
      input: { provider: pathOfExile, client: { clientId: 'svc', userAgent: 'OAuth svc/1.0.0 (contact: ops@example.com)' }, scopes: ['service:leagues'] },
      inspect: (event) => events.push(event),
    }).start();
    const output = await toPromise(actor);
    expect(output.status).toBe('succeeded');
    const stream = events.map(serialise).join('\n');
    expect(output.status === 'succeeded' && stream.includes(output.tokens.accessToken)).toBe(false);
    expect(stream).not.toContain(SECRET);
    expect(stream).toContain('"requesting"');
  });
});
