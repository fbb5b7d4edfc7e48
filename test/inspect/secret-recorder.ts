/**
 * Records every secret value a run sends or receives, read off the wire (so it works the same for
 * the fakes and for oidc-provider): what the inspectors' messages are then searched for. Browser-safe.
 */
import type { Http } from '../../src/services/types.js';

const SECRET_PARAMS = ['code', 'code_verifier', 'refresh_token', 'client_secret', 'client_assertion', 'assertion'];
const SECRET_RESPONSE_FIELDS = ['access_token', 'api_key', 'key', 'refresh_token', 'id_token'];

export class SecretRecorder {
  readonly values = new Set<string>();

  add(value: unknown): void {
    if (typeof value !== 'string' || value.length < 6) return;
    this.values.add(value);
    // Also the forms a value takes on the wire.
    const encoded = encodeURIComponent(value);
    if (encoded !== value) this.values.add(encoded);
  }

  /** A PEM private key: its base64 body (and each line of it), whatever the headers. */
  addPem(pem: string): void {
    const body = pem.replace(/-----[^-]+-----/g, '').split(/\s+/).filter(Boolean);
    this.add(body.join(''));
    for (const line of body) if (line.length >= 16) this.add(line);
  }

  /** A private JWK: its private members. */
  addJwk(jwk: JsonWebKey): void {
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) this.add(jwk[member]);
  }

  addCallback(url: string): void {
    const parsed = new URL(url);
    this.add(parsed.searchParams.get('code'));
  }

  private addHeaders(headers: Headers): void {
    // A DPoP proof is bound to one request, but replayable within its lifetime: a secret too.
    this.add(headers.get('dpop'));
    const authorization = headers.get('authorization');
    if (authorization) {
      this.add(authorization);
      const [scheme, credentials] = authorization.split(' ');
      this.add(credentials);
      if (scheme?.toLowerCase() === 'basic' && credentials) {
        const [id, secret] = atob(credentials).split(':');
        this.add(secret);
        if (secret) this.add(decodeURIComponent(secret.replace(/\+/g, ' ')));
        void id;
      }
    }
  }

  private addBody(body: string, contentType: string): void {
    let fields: Record<string, unknown> = {};
    try {
      fields = contentType.includes('json') ? (JSON.parse(body) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(body));
    } catch {
      return;
    }
    for (const name of SECRET_PARAMS) this.add(fields[name]);
  }

  /** Wraps a fetch: every secret in a request or a token response is recorded. */
  http(inner: Http): Http {
    return async (input, init) => {
      const headers = new Headers(init?.headers);
      this.addHeaders(headers);
      if (typeof init?.body === 'string') this.addBody(init.body, headers.get('content-type') ?? '');
      const response = await inner(input, init);
      const text = await response.clone().text();
      try {
        const json = JSON.parse(text) as Record<string, unknown>;
        for (const name of SECRET_RESPONSE_FIELDS) this.add(json[name]);
      } catch {
        // not JSON: nothing to record
      }
      return response;
    };
  }

  /** Every recorded value found in `text`. */
  leaksIn(text: string): string[] {
    return [...this.values].filter((value) => text.includes(value));
  }
}
