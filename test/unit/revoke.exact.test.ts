import { describe, expect, it } from 'vitest';
import { buildRevocationRequest, processRevocationResponse, requireRevocation, revokeToken, revokeTokenSet } from '../../src/grants/revoke.js';
import { parseProvider } from '../../src/provider/parse.js';
import type { RawResponse } from '../../src/provider/token-response.js';
import { genericOAuth2 } from '../../src/providers/index.js';
import { resolveServices } from '../../src/services/defaults.js';
import { thrown } from '../support/oauth-error.js';
import { rejected } from '../support/oauth-error.js';

const tokenEndpoint = 'https://as.example/token';
const revocationEndpoint = 'https://as.example/revoke';
const provider = genericOAuth2({ id: 'as', tokenEndpoint, revocationEndpoint });
const client = { clientId: 'app' };
const form = (body: string) => Object.fromEntries(new URLSearchParams(body));
const answer = (status: number, text = '', headers: Record<string, string> = {}): RawResponse => ({ status, text, headers: new Headers(headers) });


const rejection = rejected;

/** An HTTP service that records each request and answers with the next of `answers` (the last one repeated). */
function recording(...answers: Array<() => Response>) {
  const sent: Array<{ url: string; body: Record<string, string>; headers: Headers; signal: AbortSignal | null | undefined }> = [];
  const http = (async (url: string, init?: RequestInit) => {
    sent.push({ url: String(url), body: form(String(init?.body)), headers: new Headers(init?.headers), signal: init?.signal });
    return (answers[sent.length - 1] ?? answers.at(-1) ?? (() => new Response(null)))();
  }) as typeof fetch;
  return { sent, http };
}

describe('requireRevocation', () => {
  it('the endpoint when there is one; otherwise invalid_configuration naming provider.revocation', () => {
    expect(requireRevocation(provider)).toBe(provider.revocation);
    const error = thrown(() => requireRevocation(genericOAuth2({ id: 'bare', tokenEndpoint })));
    expect(error).toMatchObject({
      code: 'invalid_configuration',
      field: 'provider.revocation',
      message: 'provider "bare" has no revocation endpoint (provider.revocation)',
    });
  });
});

describe('buildRevocationRequest', () => {
  it('without a hint, no token_type_hint is sent', () => {
    expect(form(buildRevocationRequest({ provider, client, secrets: {}, token: 't' }).body)).toEqual({ token: 't', client_id: 'app' });
  });

  it('the User-Agent follows userAgentHeader', () => {
    const ua = parseProvider({ ...provider, userAgent: { template: 'OAuth {clientId}/{version}', required: true } });
    const withUa = { clientId: 'app', userAgent: 'OAuth app/2' };
    expect(buildRevocationRequest({ provider: ua, client: withUa, secrets: {}, token: 't', userAgentHeader: true }).headers['user-agent']).toBe('OAuth app/2');
    expect(buildRevocationRequest({ provider: ua, client: withUa, secrets: {}, token: 't', userAgentHeader: false }).headers).not.toHaveProperty('user-agent');
    expect(thrown(() => buildRevocationRequest({ provider: ua, client, secrets: {}, token: 't', userAgentHeader: true })).field).toBe('client.userAgent');
  });
});

describe('processRevocationResponse: every 2xx means revoked', () => {
  it.each([200, 201, 204, 299])('%i', (status) => {
    expect(processRevocationResponse(provider, answer(status, '{"error":"invalid_request"}'), 0)).toBeUndefined();
  });

  it.each([199, 300, 301, 400])('%i is an error', (status) => {
    const error = thrown(() => processRevocationResponse(provider, answer(status, ''), 0));
    expect(error).toMatchObject({ code: 'invalid_response', status });
    expect(error.message).toMatch(/^revocation endpoint /);
  });
});

describe('revokeToken', () => {
  it('sends one request to the revocation endpoint with the signal, and resolves on 2xx', async () => {
    const { sent, http } = recording(() => new Response(null, { status: 200 }));
    const signal = new AbortController().signal;
    await expect(revokeToken(resolveServices({ http }), { provider, client, secrets: {}, token: 'rt', tokenTypeHint: 'refresh_token' }, signal)).resolves.toBeUndefined();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe(revocationEndpoint);
    expect(sent[0]!.body).toEqual({ token: 'rt', token_type_hint: 'refresh_token', client_id: 'app' });
    expect(sent[0]!.signal?.aborted).toBe(false);
  });

  it('an aborted signal stops the request', async () => {
    const { http } = recording(() => new Response(null));
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(revokeToken(resolveServices({ http }), { provider, client, secrets: {}, token: 'rt' }, controller.signal));
    expect(error.code).toBe('cancelled');
  });

  it('an error answer is thrown; a Retry-After date is measured from the services’ clock', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const { http } = recording(() => new Response('{"error":"temporarily_unavailable"}', { status: 503, headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' } }));
    const error = await rejection(revokeToken(resolveServices({ http, clock: { now: () => now } }), { provider, client, secrets: {}, token: 'rt' }));
    expect(error).toMatchObject({ code: 'temporarily_unavailable', status: 503, retryable: true, retryAfterMs: 30_000 });
  });

  it('uses the services’ userAgentHeader, whatever the input says', async () => {
    const ua = parseProvider({ ...provider, userAgent: { template: 'OAuth {clientId}/{version}', required: true } });
    const { sent, http } = recording(() => new Response(null));
    await revokeToken(resolveServices({ http, userAgentHeader: false }), { provider: ua, client: { clientId: 'app', userAgent: 'OAuth app/2' }, secrets: {}, token: 't', userAgentHeader: true });
    expect(sent[0]!.headers.has('user-agent')).toBe(false);
    const error = await rejection(revokeToken(resolveServices({ http, userAgentHeader: true }), { provider: ua, client, secrets: {}, token: 't', userAgentHeader: false }));
    expect(error.field).toBe('client.userAgent');
    expect(sent).toHaveLength(1);
  });
});

describe('revokeTokenSet', () => {
  const tokens = { accessToken: 'at', tokenType: 'Bearer', refreshToken: 'rt', extra: {} };

  it('both, without a refresh token: only the access token', async () => {
    const { sent, http } = recording();
    await revokeTokenSet(resolveServices({ http }), {}, { provider, client, tokens: { ...tokens, refreshToken: '' }, token: 'both' });
    expect(sent.map((s) => s.body)).toEqual([{ token: 'at', token_type_hint: 'access_token', client_id: 'app' }]);
  });

  it('authenticates with the secrets given', async () => {
    const { sent, http } = recording();
    await revokeTokenSet(resolveServices({ http }), { clientSecret: 's' }, { provider, client, tokens });
    expect(sent[0]!.headers.get('authorization')).toBe(`Basic ${btoa('app:s')}`);
  });

  it('both: a refused refresh token revocation stops there, its error thrown', async () => {
    const { sent, http } = recording(() => new Response('{"error":"unsupported_token_type"}', { status: 400 }));
    const error = await rejection(revokeTokenSet(resolveServices({ http }), {}, { provider, client, tokens, token: 'both' }));
    expect(error.code).toBe('unsupported_token_type');
    expect(sent.map((s) => s.body.token)).toEqual(['rt']);
  });
});
