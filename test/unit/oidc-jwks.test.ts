import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createJwksCache, DEFAULT_JWKS_COOLDOWN_MS, DEFAULT_JWKS_MAX_AGE_MS } from '../../src/oidc/index.js';
import { resolveServices } from '../../src/services/defaults.js';
import type { Http } from '../../src/services/types.js';
import { rejected } from '../support/oauth-error.js';

const URI = 'https://op.example/jwks';
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let k1: KeyPair;
let k2: KeyPair;
let jwk1: JWK;
let jwk2: JWK;

beforeAll(async () => {
  [k1, k2] = await Promise.all([generateKeyPair('RS256'), generateKeyPair('RS256')]);
  jwk1 = { ...(await exportJWK(k1.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwk2 = { ...(await exportJWK(k2.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' };
});

interface Seen {
  url: string;
  method: string | undefined;
  accept: string | null;
}

/** A JWKS server: `keys` may change between calls (rotation); `answer` overrides the response. */
function server(initial: () => JWK[]) {
  const state = { keys: initial, seen: [] as Seen[], answer: undefined as (() => Response | Promise<Response>) | undefined, gate: undefined as Promise<void> | undefined };
  const http: Http = async (input, init) => {
    state.seen.push({ url: String(input), method: init?.method, accept: new Headers(init?.headers).get('accept') });
    if (state.gate) await state.gate;
    if (state.answer) return state.answer();
    return Response.json({ keys: state.keys() });
  };
  return { state, http };
}

function setup(initial: () => JWK[], options?: Parameters<typeof createJwksCache>[1], serviceOptions: Parameters<typeof resolveServices>[0] = {}) {
  const clock = { t: 1_000_000, now() { return this.t; } };
  const { state, http } = server(initial);
  const cache = createJwksCache(resolveServices({ http, clock, ...serviceOptions }), options);
  return { clock, state, cache, getKey: cache.keyFor(URI) };
}

const sign = (pair: KeyPair, kid: string) => new SignJWT({ sub: 's' }).setProtectedHeader({ alg: 'RS256', kid }).sign(pair.privateKey);

const refusal = rejected;

describe('createJwksCache: fetching and caching', () => {
  it('GETs the jwks_uri with Accept: application/json; the key it returns verifies a token', async () => {
    const { state, getKey } = setup(() => [jwk1]);
    const { payload } = await jwtVerify(await sign(k1, 'k1'), getKey, { algorithms: ['RS256'] });
    expect(payload.sub).toBe('s');
    expect(state.seen).toEqual([{ url: URI, method: 'GET', accept: 'application/json' }]);
  });

  it('uses the cached set until maxAgeMs has passed (services.clock), then fetches again', async () => {
    const { state, getKey, clock } = setup(() => [jwk1], { maxAgeMs: 60_000 });
    await getKey({ alg: 'RS256', kid: 'k1' });
    clock.t += 59_999;
    await getKey({ alg: 'RS256', kid: 'k1' });
    expect(state.seen).toHaveLength(1);
    clock.t += 1;
    await getKey({ alg: 'RS256', kid: 'k1' });
    expect(state.seen).toHaveLength(2);
  });

  it('defaults: 10 minutes of cache, 30 s of cooldown', async () => {
    expect(DEFAULT_JWKS_MAX_AGE_MS).toBe(600_000);
    expect(DEFAULT_JWKS_COOLDOWN_MS).toBe(30_000);
    const { state, getKey, clock } = setup(() => [jwk1]);
    await getKey({ alg: 'RS256', kid: 'k1' });
    clock.t += 599_999;
    await getKey({ alg: 'RS256', kid: 'k1' });
    expect(state.seen).toHaveLength(1);
    clock.t += 1;
    await getKey({ alg: 'RS256', kid: 'k1' });
    expect(state.seen).toHaveLength(2);
  });

  it('caches per URI: keyFor twice for one URI shares the set, another URI has its own', async () => {
    const { state, cache } = setup(() => [jwk1]);
    await cache.keyFor(URI)({ alg: 'RS256', kid: 'k1' });
    await cache.keyFor(URI)({ alg: 'RS256', kid: 'k1' });
    await cache.keyFor('https://other.example/jwks')({ alg: 'RS256', kid: 'k1' });
    expect(state.seen.map((s) => s.url)).toEqual([URI, 'https://other.example/jwks']);
  });

  it('concurrent callers on a cold cache share one fetch', async () => {
    const { state, getKey } = setup(() => [jwk1]);
    let open!: () => void;
    state.gate = new Promise((resolve) => (open = resolve));
    const calls = Array.from({ length: 10 }, () => getKey({ alg: 'RS256', kid: 'k1' }));
    open();
    const keys = await Promise.all(calls);
    expect(state.seen).toHaveLength(1);
    expect(new Set(keys).size).toBe(1);
  });

  it('a failed fetch is not cached: the next call fetches again', async () => {
    const { state, getKey } = setup(() => [jwk1]);
    state.answer = () => new Response('down', { status: 503 });
    await refusal(getKey({ alg: 'RS256', kid: 'k1' }));
    state.answer = undefined;
    await expect(getKey({ alg: 'RS256', kid: 'k1' })).resolves.toBeTruthy();
    expect(state.seen).toHaveLength(2);
  });
});

describe('createJwksCache: key rotation', () => {
  it('a token signed by a new kid triggers exactly one refetch, then verifies', async () => {
    let keys = [jwk1];
    const { state, getKey, clock } = setup(() => keys);
    await getKey({ alg: 'RS256', kid: 'k1' });
    clock.t += DEFAULT_JWKS_COOLDOWN_MS;
    keys = [jwk1, jwk2];
    const { payload } = await jwtVerify(await sign(k2, 'k2'), getKey, { algorithms: ['RS256'] });
    expect(payload.sub).toBe('s');
    expect(state.seen).toHaveLength(2);
    // The rotated set is now cached: the old and the new kid both resolve without fetching.
    await getKey({ alg: 'RS256', kid: 'k1' });
    await getKey({ alg: 'RS256', kid: 'k2' });
    expect(state.seen).toHaveLength(2);
  });

  it('within the cooldown an unknown kid does not refetch (no refetch storm), after it one refetch is allowed', async () => {
    const { state, getKey, clock } = setup(() => [jwk1], { cooldownMs: 30_000 });
    await getKey({ alg: 'RS256', kid: 'k1' });
    clock.t += 29_999;
    for (let i = 0; i < 20; i++) {
      const error = await getKey({ alg: 'RS256', kid: `forged-${i}` }).catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('ERR_JWKS_NO_MATCHING_KEY');
    }
    expect(state.seen).toHaveLength(1);
    clock.t += 1;
    await expect(getKey({ alg: 'RS256', kid: 'forged' })).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(state.seen).toHaveLength(2);
    // That refetch starts a new cooldown.
    await expect(getKey({ alg: 'RS256', kid: 'forged' })).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(state.seen).toHaveLength(2);
  });

  it('an unknown kid in a set just fetched for this call is not refetched, even with no cooldown', async () => {
    const { state, getKey } = setup(() => [jwk1], { cooldownMs: 0 });
    await expect(getKey({ alg: 'RS256', kid: 'nope' })).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(state.seen).toHaveLength(1);
  });

  it('concurrent callers with a new kid share one refetch', async () => {
    let keys = [jwk1];
    const { state, getKey, clock } = setup(() => keys);
    await getKey({ alg: 'RS256', kid: 'k1' });
    clock.t += DEFAULT_JWKS_COOLDOWN_MS;
    keys = [jwk1, jwk2];
    let open!: () => void;
    state.gate = new Promise((resolve) => (open = resolve));
    const calls = Array.from({ length: 10 }, () => getKey({ alg: 'RS256', kid: 'k2' }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    open();
    await Promise.all(calls);
    expect(state.seen).toHaveLength(2);
  });

  it('a refetch that fails is that failure, and the cooldown still holds after it', async () => {
    const { state, getKey, clock } = setup(() => [jwk1]);
    await getKey({ alg: 'RS256', kid: 'k1' });
    clock.t += DEFAULT_JWKS_COOLDOWN_MS;
    state.answer = () => new Response('down', { status: 500 });
    await expect(getKey({ alg: 'RS256', kid: 'k2' })).rejects.toMatchObject({ code: 'invalid_response', status: 500, field: 'jwks', retryable: true });
    await expect(getKey({ alg: 'RS256', kid: 'k2' })).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(state.seen).toHaveLength(2);
    // The set fetched before is still used for the keys it has.
    await expect(getKey({ alg: 'RS256', kid: 'k1' })).resolves.toBeTruthy();
  });
});

describe('createJwksCache: failures are OAuthErrors', () => {
  const cases: Array<[string, () => Response, string, number]> = [
    ['non-200', () => new Response('{}', { status: 404 }), 'jwks', 404],
    ['a 2xx other than 200, even with a valid set', () => new Response(JSON.stringify({ keys: [jwk1] }), { status: 203 }), 'jwks', 203],
    ['a redirect (never followed)', () => new Response(null, { status: 302, headers: { location: 'https://evil.example/jwks' } }), 'jwks', 302],
    ['not JSON', () => new Response('<html>', { status: 200 }), 'jwks', 200],
    ['a JSON array', () => Response.json([jwk1]), 'jwks', 200],
    ['no keys', () => Response.json({}), 'jwks.keys', 200],
    ['keys not an array', () => Response.json({ keys: {} }), 'jwks.keys', 200],
    ['a key that is not an object', () => Response.json({ keys: ['x'] }), 'jwks.keys', 200],
  ];
  it.each(cases)('%s: invalid_response naming the field', async (_name, answer, field, status) => {
    const { state, getKey } = setup(() => [jwk1]);
    state.answer = answer;
    const error = await refusal(getKey({ alg: 'RS256', kid: 'k1' }));
    expect(error).toMatchObject({ code: 'invalid_response', field, status, retryable: false });
  });

  it('a transport failure is a retryable network_error; no answer within timeoutMs is a timeout', async () => {
    const failing = setup(() => [jwk1]);
    failing.state.answer = () => {
      throw new TypeError('fetch failed');
    };
    expect(await refusal(failing.getKey({ alg: 'RS256', kid: 'k1' }))).toMatchObject({ code: 'network_error', retryable: true });

    const slow = setup(() => [jwk1], {}, { timeoutMs: 20 });
    slow.state.answer = () => new Promise<Response>(() => {});
    expect(await refusal(slow.getKey({ alg: 'RS256', kid: 'k1' }))).toMatchObject({ code: 'timeout', retryable: true });
  });

  it('a body over maxResponseBytes is refused', async () => {
    const { state, getKey } = setup(() => [jwk1], {}, { maxResponseBytes: 100 });
    state.answer = () => Response.json({ keys: [jwk1] });
    expect(await refusal(getKey({ alg: 'RS256', kid: 'k1' }))).toMatchObject({ code: 'invalid_response', field: 'response.body' });
  });

  it('refuses a jwksUri that is not an http(s) URL, and bad durations, as invalid_configuration', () => {
    const { cache } = setup(() => [jwk1]);
    expect(() => cache.keyFor('not a url')).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'jwksUri' }));
    expect(() => cache.keyFor('file:///etc/jwks')).toThrow(expect.objectContaining({ code: 'invalid_configuration' }));
    expect(() => setup(() => [], { maxAgeMs: -1 })).toThrow(expect.objectContaining({ field: 'maxAgeMs' }));
    expect(() => setup(() => [], { cooldownMs: Number.NaN })).toThrow(expect.objectContaining({ field: 'cooldownMs' }));
  });
});

describe('createJwksCache: options', () => {
  it('durations: 0 is allowed, negative, NaN and Infinity are refused naming the option', () => {
    expect(() => setup(() => [], { maxAgeMs: 0, cooldownMs: 0 })).not.toThrow();
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      for (const name of ['maxAgeMs', 'cooldownMs'] as const) {
        expect(() => setup(() => [], { [name]: bad })).toThrow(
          expect.objectContaining({ code: 'invalid_configuration', field: name, message: `${name} must be a non-negative number of milliseconds` }),
        );
      }
    }
  });

  it('maxAgeMs 0: every call fetches the set again', async () => {
    const { state, getKey } = setup(() => [jwk1], { maxAgeMs: 0 });
    await getKey({ alg: 'RS256', kid: 'k1' });
    await getKey({ alg: 'RS256', kid: 'k1' });
    expect(state.seen).toHaveLength(2);
  });

  it('jwksUri: http and https URLs are used; anything else is refused with a message naming it', async () => {
    const { state, cache } = setup(() => [jwk1]);
    await cache.keyFor('http://localhost:8080/jwks')({ alg: 'RS256', kid: 'k1' });
    await cache.keyFor('HTTPS://OP.example/jwks')({ alg: 'RS256', kid: 'k1' });
    expect(state.seen.map((s) => s.url)).toEqual(['http://localhost:8080/jwks', 'HTTPS://OP.example/jwks']);
    for (const bad of ['not a url', 'file:///etc/jwks', 'xhttps://op.example/jwks', 'httpx://op.example/jwks', new URL(URI), undefined]) {
      expect(() => cache.keyFor(bad as string)).toThrow(expect.objectContaining({ code: 'invalid_configuration', field: 'jwksUri', message: 'jwksUri must be an http(s) URL' }));
    }
    expect(state.seen).toHaveLength(2);
  });
});

describe('createJwksCache: the clock', () => {
  it('a clock that starts at 0 (a fake one) fetches on first use all the same', async () => {
    const { state, getKey, clock } = setup(() => [jwk1], { maxAgeMs: 60_000 });
    clock.t = 0;
    await expect(getKey({ alg: 'RS256', kid: 'k1' })).resolves.toBeTruthy();
    clock.t = 59_999;
    await getKey({ alg: 'RS256', kid: 'k1' });
    expect(state.seen).toHaveLength(1);
  });

  it('a second call at the same instant uses the cached set', async () => {
    const { state, getKey } = setup(() => [jwk1], { maxAgeMs: 60_000 });
    await getKey({ alg: 'RS256', kid: 'k1' });
    await getKey({ alg: 'RS256', kid: 'k1' });
    expect(state.seen).toHaveLength(1);
  });

  it('a clock stepped back counts as the set having expired', async () => {
    const { state, getKey, clock } = setup(() => [jwk1], { maxAgeMs: 60_000 });
    await getKey({ alg: 'RS256', kid: 'k1' });
    clock.t -= 1;
    await getKey({ alg: 'RS256', kid: 'k1' });
    expect(state.seen).toHaveLength(2);
  });

  it('a clock stepped back counts as the cooldown having passed', async () => {
    let keys = [jwk1];
    const { state, getKey, clock } = setup(() => keys, { cooldownMs: 30_000, maxAgeMs: 600_000 });
    await getKey({ alg: 'RS256', kid: 'k1' });
    // A refetch that fails: the attempt is at +30 s, the set still the one from 0 s.
    clock.t += 30_000;
    state.answer = () => new Response(null, { status: 503 });
    await refusal(getKey({ alg: 'RS256', kid: 'k2' }));
    state.answer = undefined;
    keys = [jwk1, jwk2];
    // Back to +10 s: the set is 10 s old (not expired), the attempt 20 s in the future.
    clock.t -= 20_000;
    await expect(getKey({ alg: 'RS256', kid: 'k2' })).resolves.toBeTruthy();
    expect(state.seen).toHaveLength(3);
  });

  it('the cooldown counts from the last attempt, exactly', async () => {
    const { state, getKey, clock } = setup(() => [jwk1], { cooldownMs: 30_000, maxAgeMs: 600_000 });
    await getKey({ alg: 'RS256', kid: 'k1' });
    clock.t += 30_000;
    await expect(getKey({ alg: 'RS256', kid: 'k9' })).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(state.seen).toHaveLength(2);
    clock.t += 29_999;
    await expect(getKey({ alg: 'RS256', kid: 'k9' })).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(state.seen).toHaveLength(2);
  });
});

describe('createJwksCache: what triggers a refetch', () => {
  it('only an unknown key does: other errors of the cached set are thrown as they are', async () => {
    const { state, getKey, clock } = setup(() => [{ ...jwk1, kid: undefined }, { ...jwk2, kid: undefined }]);
    await expect(getKey({ alg: 'RS256', kid: undefined })).rejects.toMatchObject({ code: 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' });
    clock.t += DEFAULT_JWKS_COOLDOWN_MS;
    await expect(getKey({ alg: 'RS256', kid: undefined })).rejects.toMatchObject({ code: 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' });
    await expect(getKey({ alg: 'HS256', kid: 'k1' })).rejects.toMatchObject({ code: 'ERR_JOSE_NOT_SUPPORTED' });
    expect(state.seen).toHaveLength(1);
  });

  it('a refetch that still lacks the key throws no matching key', async () => {
    const { state, getKey, clock } = setup(() => [jwk1]);
    await getKey({ alg: 'RS256', kid: 'k1' });
    clock.t += DEFAULT_JWKS_COOLDOWN_MS;
    await expect(getKey({ alg: 'RS256', kid: 'k2' })).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(state.seen).toHaveLength(2);
  });

  it('a caller with the new kid during a refetch gets the new set, whatever the interleaving', async () => {
    // The second caller starts at every point of the first one's refetch: while it is pending,
    // just after it settled, or after it is done. It must never see "no matching key", nor fetch again.
    for (let step = 0; step < 80; step++) {
      let keys = [jwk1];
      const { state, getKey, clock } = setup(() => keys);
      await getKey({ alg: 'RS256', kid: 'k1' });
      clock.t += DEFAULT_JWKS_COOLDOWN_MS;
      keys = [jwk1, jwk2];
      const first = getKey({ alg: 'RS256', kid: 'k2' });
      for (let i = 0; i < step; i++) await (i % 8 === 7 ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve());
      const second = getKey({ alg: 'RS256', kid: 'k2' });
      const [a, b] = await Promise.all([first, second]);
      expect(b).toBe(a);
      expect(state.seen).toHaveLength(2);
    }
  });
});

describe('createJwksCache: the failures, their messages and fields', () => {
  const failing = async (answer: () => Response) => {
    const { state, getKey } = setup(() => [jwk1]);
    state.answer = answer;
    return refusal(getKey({ alg: 'RS256', kid: 'k1' }));
  };
  it('messages name the host and what is wrong; requestSent is true', async () => {
    const cases: Array<[() => Response, string, string]> = [
      [() => new Response('{}', { status: 404 }), 'jwks', 'JWKS from op.example answered HTTP 404, not 200'],
      [() => new Response('<html>', { status: 200 }), 'jwks', 'JWKS from op.example is not JSON'],
      [() => Response.json([jwk1]), 'jwks', 'JWKS from op.example is not a JSON object'],
      [() => Response.json(null), 'jwks', 'JWKS from op.example is not a JSON object'],
      [() => Response.json('keys'), 'jwks', 'JWKS from op.example is not a JSON object'],
      [() => Response.json({ keys: null }), 'jwks.keys', 'JWKS from op.example "keys" is not an array'],
      [() => Response.json({}), 'jwks.keys', 'JWKS from op.example has no "keys" array'],
      [() => Response.json({ keys: {} }), 'jwks.keys', 'JWKS from op.example "keys" is not an array'],
      [() => Response.json({ keys: [jwk1, 'x'] }), 'jwks.keys', 'JWKS from op.example "keys" has a member that is not a JSON object'],
      [() => Response.json({ keys: [jwk1, null] }), 'jwks.keys', 'JWKS from op.example "keys" has a member that is not a JSON object'],
      [() => Response.json({ keys: [[jwk1]] }), 'jwks.keys', 'JWKS from op.example "keys" has a member that is not a JSON object'],
    ];
    for (const [answer, field, message] of cases) {
      expect(await failing(answer)).toMatchObject({ code: 'invalid_response', field, message, requestSent: true, retryable: false });
    }
  });
  it('retryable: 5xx and 429, not other statuses', async () => {
    for (const [status, retryable] of [[500, true], [503, true], [429, true], [499, false], [400, false], [304, false]] as const) {
      expect(await failing(() => new Response(null, { status }))).toMatchObject({ status, retryable, field: 'jwks' });
    }
  });
  it('an empty set is a set: no matching key', async () => {
    const { getKey } = setup(() => []);
    await expect(getKey({ alg: 'RS256', kid: 'k1' })).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });
});
