import fc from 'fast-check';
import { createActor, toPromise, waitFor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { authorizationCodeMachine, provideServices } from '../../machines/index.js';
import { checkCallback } from '../../src/provider/callback.js';
import { createOAuthClient, memoryStorage, OAuthError } from '../../src/index.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { check, runs, settlesWithin } from './support.js';

/**
 * Callback fuzzing (RFC 6749 §4.1.2, §3.1; RFC 9207): generated callbacks into checkCallback, the
 * machine and the facade. Invariants: every input settles with a code or an OAuthError (never
 * another exception); a code is accepted only from a callback with exactly one state equal to
 * the flow's, exactly one non-empty code, no error, and the issuer's iss when one is declared;
 * the token endpoint receives a code at most once.
 */
const ISSUER = 'https://as.example';
const STATE = 'S'.repeat(43);
const provider = genericOAuth2({ id: 'as', issuer: ISSUER, authorizationEndpoint: `${ISSUER}/authorize`, tokenEndpoint: `${ISSUER}/token` });
const noIssuer = genericOAuth2({ id: 'as', authorizationEndpoint: `${ISSUER}/authorize`, tokenEndpoint: `${ISSUER}/token` });
const REDIRECT = 'https://app.example/cb';

const names = fc.constantFrom('state', 'code', 'iss', 'error', 'error_description', 'error_uri', 'session_state', 'x', 'st%61te', 'CODE');
const values = fc.oneof(
  fc.constant(STATE),
  fc.constant('the-code'),
  fc.constant(ISSUER),
  fc.constant('access_denied'),
  fc.constant(''),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constant('a'.repeat(2_000)),
  fc.constant('"quoted\\"'),
);
const pair = fc.tuple(names, values).map(([n, v]) => `${n}=${fc.stringify(v) === '' ? '' : encodeURIComponent(v)}`.replace(/%25(61)/g, '%$1'));
const bases = fc.constantFrom(REDIRECT, 'http://localhost:3000/cb', 'com.example.app:/cb', 'javascript:alert(1)//', 'data:text/html,', 'https://evil.example/other', 'file:///etc/passwd', '');

/** A callback: a base URL and parameters in the query, the fragment, both, or a bare query string. */
const callbacks = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(bases, fc.array(pair, { maxLength: 7 }), fc.array(pair, { maxLength: 3 }), fc.constantFrom('query', 'fragment', 'both', 'bare', 'bare?')).map(([base, query, fragment, where]) => {
    const q = query.join('&');
    const f = fragment.join('&');
    if (where === 'bare') return q;
    if (where === 'bare?') return `?${q}`;
    if (where === 'fragment') return `${base}#${q}`;
    if (where === 'both') return `${base}?${q}#${f}`;
    return `${base}?${q}`;
  }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom(`${REDIRECT}?code=the-code&state=${STATE}&iss=${encodeURIComponent(ISSUER)}`, `${REDIRECT}?state=${STATE}&code=the-code`) },
);

/** What a callback carries, counted the way RFC 6749 §3.1 reads it. */
function occurrences(callback: string, name: string): string[] {
  const found: string[] = [];
  for (const part of callback.split(/[?#]/).slice(/^[a-z][a-z0-9+.-]*:/i.test(callback.trim()) || callback.includes('?') ? 1 : 0)) {
    for (const [key, value] of new URLSearchParams(part)) if (key === name) found.push(value);
  }
  return found;
}

/** The only way a code may be accepted. */
function acceptable(callback: string, code: string, issuer: string | undefined): boolean {
  const states = occurrences(callback, 'state');
  const codes = occurrences(callback, 'code');
  const isses = occurrences(callback, 'iss');
  return (
    states.length === 1 && states[0] === STATE &&
    codes.length === 1 && codes[0] === code && code !== '' &&
    occurrences(callback, 'error').length === 0 &&
    (issuer === undefined || (isses.length === 1 && isses[0] === issuer)) &&
    !/^(javascript|data|file):/i.test(callback.trim())
  );
}

describe('callback fuzzing', () => {
  it('checkCallback: a code only from an acceptable callback, otherwise an OAuthError — never another exception', { timeout: 180_000 }, async () => {
    await check(
      'checkCallback',
      fc.property(callbacks, fc.boolean(), (callback, withIssuer) => {
        const p = withIssuer ? provider : noIssuer;
        try {
          const code = checkCallback(callback, { provider: p, state: STATE, redirectUri: REDIRECT } as Parameters<typeof checkCallback>[1]);
          expect(acceptable(callback, code, p.issuer), `accepted ${JSON.stringify(callback)}`).toBe(true);
        } catch (error) {
          expect(error, `${JSON.stringify(callback)} threw ${String(error)}`).toBeInstanceOf(OAuthError);
          const e = error as OAuthError;
          expect(typeof e.code).toBe('string');
          expect(e.code.length).toBeGreaterThan(0);
          expect(e.field).toMatch(/^callback\./);
        }
      }),
      runs(100_000),
    );
  });

  it('not a string: invalid_callback', () => {
    for (const input of [undefined, null, 42, {}, [], () => 'x', Symbol('s')]) {
      expect(() => checkCallback(input, { provider, state: STATE })).toThrow(expect.objectContaining({ code: 'invalid_callback' }));
    }
  });

  it('the machine: every callback ends the flow in failed or exchanging, never stuck and never thrown', { timeout: 180_000 }, async () => {
    const machine = provideServices(authorizationCodeMachine, {
      http: async () => Response.json({ access_token: 'at', token_type: 'Bearer' }),
      random: (n) => new Uint8Array(n).fill(7),
    });
    // The fixed random gives a fixed state: generate callbacks for it.
    const probe = createActor(machine, { input: { provider: noIssuer, client: { clientId: 'app', redirectUri: REDIRECT } } }).start();
    const { context } = await waitFor(probe, (s) => s.matches('awaitingCallback'));
    probe.stop();
    const realState = context.state!;
    await check(
      'authorizationCodeMachine callback',
      fc.asyncProperty(callbacks, async (raw) => {
        const callback = raw.split(STATE).join(realState);
        const actor = createActor(machine, { input: { provider: noIssuer, client: { clientId: 'app', redirectUri: REDIRECT } } }).start();
        await waitFor(actor, (s) => s.matches('awaitingCallback'));
        actor.send({ type: 'callback', url: callback });
        const output = await settlesWithin(toPromise(actor), 2_000, 'the machine');
        expect(['succeeded', 'failed']).toContain(output.status);
        if (output.status === 'failed') expect(output.error).toBeInstanceOf(OAuthError);
      }),
      runs(2_000),
    );
  });

  it('the facade: every completion settles; the genuine code reaches the token endpoint at most once', { timeout: 180_000 }, async () => {
    await check(
      'completeAuthorization',
      fc.asyncProperty(fc.array(callbacks, { minLength: 1, maxLength: 4 }), fc.boolean(), async (extra, genuineFirst) => {
        const sent: string[] = [];
        const client = createOAuthClient({
          provider: noIssuer,
          clientId: 'app',
          redirectUri: REDIRECT,
          storage: memoryStorage(),
          http: async (_url, init) => {
            sent.push(String(new URLSearchParams(String(init?.body)).get('code')));
            return Response.json({ access_token: 'at', token_type: 'Bearer' });
          },
        });
        const { state } = await client.startAuthorization();
        const genuine = `${REDIRECT}?code=the-code&state=${state}`;
        const attempts = [genuineFirst ? genuine : undefined, ...extra.map((c) => c.split(STATE).join(state)), genuine].filter((c): c is string => c !== undefined);
        const results = await settlesWithin(Promise.allSettled(attempts.map((c) => client.completeAuthorization(c))), 5_000, 'completeAuthorization');
        for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(OAuthError);
        expect(sent.filter((code) => code === 'the-code').length).toBeLessThanOrEqual(1);
        expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(1);
      }),
      runs(1_000),
    );
  });
});
