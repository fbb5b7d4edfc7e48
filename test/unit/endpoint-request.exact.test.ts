import { describe, expect, it } from 'vitest';
import { generateKeyPair } from 'jose';
import { buildEndpointRequest } from '../../src/grants/endpoint-request.js';
import { parseProvider } from '../../src/provider/parse.js';
import { poems } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

const endpoint = { url: 'https://as.example/other' };
const json = parseProvider({
  id: 'as',
  name: 'AS',
  token: { url: 'https://as.example/token', body: 'json', authMethods: ['client_secret_post', 'none'] },
  headers: { 'X-Extra': 'yes' },
  userAgent: { template: 'OAuth {clientId}/{version}', required: true },
  grants: { refresh_token: {} },
});
const client = { clientId: 'app', userAgent: 'OAuth app/1.0' };
const form = (body: string) => Object.fromEntries(new URLSearchParams(body));


describe('buildEndpointRequest', () => {
  it('a form POST to the endpoint’s URL, whatever the token endpoint’s body, without grant_type, with the provider’s headers', () => {
    const request = buildEndpointRequest(endpoint, 'refresh_token', { provider: json, client, secrets: { clientSecret: 's' }, userAgentHeader: true, params: { token: 't', hint: undefined } });
    expect(request).toEqual({
      url: 'https://as.example/other',
      method: 'POST',
      headers: { accept: 'application/json', 'x-extra': 'yes', 'user-agent': 'OAuth app/1.0', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=t&client_id=app&client_secret=s',
    });
  });

  it('the endpoint’s own auth methods replace the token endpoint’s', () => {
    const request = buildEndpointRequest({ ...endpoint, authMethods: ['none'] }, 'refresh_token', { provider: json, client, secrets: {}, userAgentHeader: true, params: { token: 't' } });
    expect(form(request.body)).toEqual({ token: 't', client_id: 'app' });
    // A secret the endpoint does not accept is refused, as at the token endpoint.
    const refused = thrown(() => buildEndpointRequest({ ...endpoint, authMethods: ['none'] }, 'refresh_token', { provider: json, client, secrets: { clientSecret: 's' }, params: {} }));
    expect(refused).toMatchObject({ code: 'invalid_configuration', field: 'secrets.clientSecret' });
  });

  it('userAgentHeader: false sends no User-Agent and does not ask for one; true asks for one', () => {
    const noHeader = buildEndpointRequest(endpoint, 'refresh_token', { provider: json, client, secrets: {}, userAgentHeader: false, params: {} });
    expect(noHeader.headers).not.toHaveProperty('user-agent');
    expect(() => buildEndpointRequest(endpoint, 'refresh_token', { provider: json, client: { clientId: 'app' }, secrets: {}, userAgentHeader: false, params: {} })).not.toThrow();
    const missing = thrown(() => buildEndpointRequest(endpoint, 'refresh_token', { provider: json, client: { clientId: 'app' }, secrets: {}, userAgentHeader: true, params: {} }));
    expect(missing).toMatchObject({ code: 'invalid_configuration', field: 'client.userAgent' });
    // Checked against the provider's rule even where none is sent.
    const wrong = thrown(() => buildEndpointRequest(endpoint, 'refresh_token', { provider: json, client: { clientId: 'app', userAgent: 'curl' }, secrets: {}, userAgentHeader: false, params: {} }));
    expect(wrong.field).toBe('client.userAgent');
  });

  it('the grant says which secrets authenticate: the refresh grant never signs an assertion', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const request = buildEndpointRequest({ url: 'https://poems.example/revoke' }, 'refresh_token', { provider: poems, client: { clientId: 'app' }, secrets: { clientSecret: 's', privateKey }, params: { token: 't' } });
    expect(request.headers.authorization).toBe(`Basic ${btoa('app:s')}`);
    expect(form(request.body)).toEqual({ token: 't' });
    const keyOnly = thrown(() => buildEndpointRequest({ url: 'https://poems.example/revoke' }, 'refresh_token', { provider: poems, client: { clientId: 'app' }, secrets: { privateKey }, params: {} }));
    expect(keyOnly).toMatchObject({ code: 'invalid_configuration', field: 'secrets.clientSecret' });
  });

  it('does not change the provider it was given', () => {
    const before = JSON.stringify(json);
    buildEndpointRequest(endpoint, 'refresh_token', { provider: json, client, secrets: {}, params: {} });
    expect(JSON.stringify(json)).toBe(before);
  });
});
