import { OAuthError } from '../errors.js';
import { parseWwwAuthenticate } from '../provider/www-authenticate.js';
export { parseWwwAuthenticate, type AuthChallenge } from '../provider/www-authenticate.js';
import { capDescription, type RawResponse } from '../provider/token-response.js';

/**
 * The UserInfo endpoint (OIDC Core §5.3): a request built as plain data, and its answer judged.
 * Pure: the request is sent elsewhere (sendRequest). Nothing here ever puts the access token in
 * a message; an error answer is read from WWW-Authenticate (RFC 6750 §3, RFC 9449 §7.1).
 */

export interface UserInfo {
  sub: string;
  [claim: string]: unknown;
}

export interface UserInfoRequest {
  url: string;
  method: 'GET';
  headers: Record<string, string>;
}

export interface BuildUserInfoRequestOptions {
  url: string;
  accessToken: string;
  /** The token set's token_type: `DPoP` (any case) sends the DPoP scheme, anything else Bearer. */
  tokenType: string;
  /** Extra headers (a `dpop` proof, for DPoP). `authorization` and `accept` are always ours. */
  headers?: Record<string, string>;
}

export function buildUserInfoRequest(options: BuildUserInfoRequestOptions): UserInfoRequest {
  const { url, accessToken, tokenType } = options;
  const bad = (field: string, what: string) => new OAuthError('invalid_configuration', `${field} must be ${what}`, { field });
  try {
    new URL(url);
  } catch {
    throw bad('url', 'a URL (the userinfo_endpoint)');
  }
  // A CR/LF would split the header; the token itself is never named.
  if (typeof accessToken !== 'string' || accessToken === '' || /[\x00-\x1f\x7f]/.test(accessToken)) {
    throw bad('accessToken', 'a non-empty string without control characters');
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  headers.accept = 'application/json';
  headers.authorization = `${typeof tokenType === 'string' && tokenType.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer'} ${accessToken}`;
  return { url, method: 'GET', headers };
}

export interface ProcessUserInfoOptions {
  /** The ID Token's `sub`: the UserInfo `sub` must equal it (§5.3.2), or the answer is refused. */
  expectedSub?: string;
}

export function processUserInfoResponse(response: RawResponse, options: ProcessUserInfoOptions = {}): UserInfo {
  const { status } = response;
  const fail = (field: string, problem: string) =>
    new OAuthError('invalid_response', `userinfo endpoint ${problem}`, { status, field, requestSent: true, retryable: status >= 500 || status === 429 });
  if (status < 200 || status > 299) throw errorFrom(response) ?? fail('userinfo', `answered HTTP ${status}`);

  const mediaType = response.headers.get('content-type')?.split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/jwt') throw fail('userinfo', 'answered a signed or encrypted JWT (application/jwt): signed userinfo is not supported');
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    throw fail('userinfo', `answered HTTP ${status} with a body that is not JSON`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fail('userinfo', `answered HTTP ${status} with JSON that is not an object`);
  const claims = body as Record<string, unknown>;
  if (typeof claims.sub !== 'string' || claims.sub === '') throw fail('userinfo.sub', '"sub" must be a non-empty string');
  // §5.3.2: a different sub may be a substituted response; it MUST NOT be used. Neither sub is named.
  if (options.expectedSub !== undefined && claims.sub !== options.expectedSub) throw fail('userinfo.sub', '"sub" does not match the id_token\'s "sub"');
  return claims as UserInfo;
}

/** RFC 6750 §3.1 error codes and descriptions: visible ASCII without `"` and `\`. */
const NQSCHAR = /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/;

/** The OAuthError a Bearer or DPoP challenge with an `error` parameter carries, if there is one. */
function errorFrom(response: RawResponse): OAuthError | undefined {
  const header = response.headers.get('www-authenticate');
  if (header === null) return undefined;
  const challenge = parseWwwAuthenticate(header).find((c) => ['bearer', 'dpop'].includes(c.scheme.toLowerCase()) && c.params.error !== undefined);
  // The challenge found has an error: code is undefined exactly when there is none.
  const code = challenge?.params.error;
  if (code === undefined || code.length > 256 || !NQSCHAR.test(code)) return undefined;
  const raw = challenge!.params.error_description;
  const description = raw !== undefined && NQSCHAR.test(raw) ? capDescription(raw) : undefined;
  const { status } = response;
  return new OAuthError(code, `userinfo endpoint answered ${code}${description ? `: ${description}` : ''} (HTTP ${status})`, {
    status,
    serverCode: code,
    requestSent: true,
    retryable: status >= 500 || status === 429,
    description,
  });
}
