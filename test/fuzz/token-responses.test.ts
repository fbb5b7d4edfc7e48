import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/index.js';
import { processTokenResponse, parseRetryAfter } from '../../src/provider/token-response.js';
import { euRouter, genericOAuth2, openRouter, poe } from '../../src/providers/index.js';
import { resolveServices } from '../../src/services/defaults.js';
import { sendRequest } from '../../src/services/send.js';
import { check, runs, settlesWithin } from './support.js';

/**
 * Token-endpoint fuzzing: generated answers (statuses, content types, wrong types, HTML, empty,
 * invalid JSON, huge numbers, Retry-After forms) into processTokenResponse, and generated bodies
 * (huge, endless, failing, invalid UTF-8) through sendRequest. Invariants: a TokenSet with a
 * non-empty credential and a finite expiry, or an OAuthError — never another exception, never a
 * call that does not settle.
 */
const NOW = 1_700_000_000_000;
const providers = [genericOAuth2({ id: 'as', tokenEndpoint: 'https://as.example/token' }), poe, openRouter, euRouter];

const scalar = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1e306, Number.MAX_SAFE_INTEGER, 3600, '3600', '1e3', '12abc', ' 60 ', '', null, true, false),
  fc.constant([]),
  fc.constant({}),
);
const fieldNames = fc.constantFrom('access_token', 'api_key', 'key', 'token_type', 'expires_in', 'api_key_expires_in', 'refresh_token', 'scope', 'error', 'error_description', 'user_id', 'id_token', 'x');
const jsonObject = fc.dictionary(fieldNames, scalar, { maxKeys: 8 });
const bodies = fc.oneof(
  { weight: 6, arbitrary: jsonObject.map((o) => JSON.stringify(o)) },
  { weight: 1, arbitrary: fc.constantFrom('', 'null', '[]', '[1,2]', '"str"', '42', '{', '<html><body>502 Bad Gateway</body></html>', 'Too Many Requests', '{"access_token":') },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
);
const statuses = fc.oneof(fc.constantFrom(200, 201, 204, 301, 400, 401, 403, 404, 405, 429, 500, 502, 503, 504), fc.integer({ min: 100, max: 599 }));
const retryAfter = fc.option(fc.oneof(fc.constantFrom('0', '5', '120', 'soon', '-1', '1.5', 'Wed, 21 Oct 2015 07:28:00 GMT', 'Tue, 01 Dec 2026 10:00:00 GMT', ''), fc.string({ maxLength: 30 })), { nil: undefined });
const contentTypes = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/html', 'text/plain', '');

describe('token-endpoint fuzzing', () => {
  it('processTokenResponse: a sound TokenSet or an OAuthError, for any answer', { timeout: 180_000 }, async () => {
    await check(
      'processTokenResponse',
      fc.property(fc.constantFrom(...providers), statuses, contentTypes, retryAfter, bodies, (provider, status, type, after, text) => {
        const headers = new Headers({ ...(type ? { 'content-type': type } : {}), ...(after === undefined ? {} : { 'retry-after': after }) });
        try {
          const tokens = processTokenResponse(provider, { status, headers, text }, NOW);
          expect(status >= 200 && status < 300, `status ${status} gave tokens`).toBe(true);
          expect(typeof tokens.accessToken).toBe('string');
          expect(tokens.accessToken.length).toBeGreaterThan(0);
          expect(typeof tokens.tokenType).toBe('string');
          if (tokens.expiresAt !== undefined) {
            expect(Number.isSafeInteger(tokens.expiresAt) || Number.isFinite(tokens.expiresAt)).toBe(true);
            expect(tokens.expiresAt).toBeGreaterThanOrEqual(NOW);
            expect(JSON.parse(JSON.stringify(tokens)).expiresAt).toBe(tokens.expiresAt);
          }
          if (tokens.refreshToken !== undefined) expect(typeof tokens.refreshToken).toBe('string');
        } catch (error) {
          expect(error, String(error)).toBeInstanceOf(OAuthError);
          const e = error as OAuthError;
          expect(e.code.length).toBeGreaterThan(0);
          expect(e.message).not.toMatch(/undefined|\[object Object\]/);
          if (e.retryAfterMs !== undefined) expect(Number.isFinite(e.retryAfterMs) && e.retryAfterMs >= 0).toBe(true);
        }
      }),
      runs(20_000),
    );
  });

  it('parseRetryAfter: a finite, non-negative delay or nothing', { timeout: 180_000 }, async () => {
    await check(
      'parseRetryAfter',
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()), fc.nat().map(String)), (value) => {
        const ms = parseRetryAfter(value, NOW);
        if (ms !== undefined) expect(Number.isFinite(ms) && ms >= 0, `${value} → ${ms}`).toBe(true);
      }),
      runs(5_000),
    );
  });

  it('sendRequest: huge, endless, failing and invalid UTF-8 bodies all settle, with a response or an OAuthError', { timeout: 180_000 }, async () => {
    const body = fc.oneof(
      fc.constant({ kind: 'endless' as const }),
      fc.record({ kind: fc.constant('huge' as const), chunks: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('failing' as const), after: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
      fc.record({ kind: fc.constant('json' as const), text: bodies }),
    );
    await check(
      'sendRequest bodies',
      fc.asyncProperty(body, statuses.filter((s) => s >= 200), async (spec, status) => {
        let cancelled = false;
        let pulled = 0;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled++;
            if (spec.kind === 'endless') return new Promise(() => {});
            if (spec.kind === 'huge') {
              if (pulled > spec.chunks) return controller.close();
              return controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
            }
            if (spec.kind === 'failing') {
              if (pulled > spec.after) return controller.error(new Error('connection reset'));
              return controller.enqueue(new TextEncoder().encode('{"access'));
            }
            if (spec.kind === 'bytes') {
              controller.enqueue(spec.bytes);
              return controller.close();
            }
            controller.enqueue(new TextEncoder().encode(spec.text));
            return controller.close();
          },
          cancel() {
            cancelled = true;
          },
        });
        const services = resolveServices({ http: async () => new Response(stream, { status: status === 204 || status === 205 || status === 304 ? 200 : status }), timeoutMs: 40 });
        const request = { url: 'https://as.example/token', method: 'POST' as const, headers: {}, body: 'grant_type=x' };
        try {
          const raw = await settlesWithin(sendRequest(services, request), 2_000, 'sendRequest');
          expect(typeof raw.text).toBe('string');
          expect(raw.text.length).toBeLessThanOrEqual(1_048_576);
        } catch (error) {
          expect(error, String(error)).toBeInstanceOf(OAuthError);
          if (spec.kind === 'endless') expect(cancelled, 'endless: the reader was cancelled').toBe(true);
          // Reading stops at the cap: at most one chunk past it is pulled (streams read one ahead).
          if (spec.kind === 'huge') expect(pulled, 'huge: read past the cap').toBeLessThanOrEqual(1_048_576 / (64 * 1024) + 2);
        }
      }),
      runs(500),
    );
  });
});
