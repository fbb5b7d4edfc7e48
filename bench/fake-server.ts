// An in-process authorization server for the benchmarks: both clients talk to the same one, and it
// checks what matters (PKCE S256 against the challenge, a code redeemed once), so a client that
// skipped work would fail the correctness check before anything is timed.
import { createHash } from 'node:crypto';

export const issuer = 'https://as.example.com';
export const authorizationEndpoint = `${issuer}/authorize`;
export const tokenEndpoint = `${issuer}/token`;
export const redirectUri = 'https://app.example.com/callback';

const b64url = (bytes: Buffer) => bytes.toString('base64url');

export function createFakeServer() {
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  let next = 0;
  let issued = 0;

  /** The user approves: the callback URL for an authorization URL. */
  function approve(authorizationUrl: string): string {
    const url = new URL(authorizationUrl);
    const code = `code-${next++}`;
    codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', redirectUri: url.searchParams.get('redirect_uri') ?? '' });
    return `${redirectUri}?code=${code}&state=${url.searchParams.get('state')}&iss=${encodeURIComponent(issuer)}`;
  }

  const json = (status: number, body: object) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });

  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const body = new URLSearchParams(String(init?.body ?? ''));
    if (String(input) !== tokenEndpoint || body.get('grant_type') !== 'authorization_code') return json(400, { error: 'invalid_request' });
    const code = body.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code); // single use: a replay finds nothing
    const verifier = body.get('code_verifier') ?? '';
    if (!pending || pending.redirectUri !== body.get('redirect_uri') || b64url(createHash('sha256').update(verifier).digest()) !== pending.challenge) {
      return json(400, { error: 'invalid_grant' });
    }
    issued++;
    return json(200, { access_token: `at-${issued}-0123456789abcdef`, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${issued}-0123456789abcdef`, scope: 'read' });
  };

  return { fetch, approve, issued: () => issued };
}
