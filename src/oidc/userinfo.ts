import { OAuthError } from '../errors.js';
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

  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
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
  const challenge = parseWwwAuthenticate(header).find((c) => (c.scheme === 'bearer' || c.scheme === 'dpop') && c.params.has('error'));
  const code = challenge?.params.get('error');
  if (challenge === undefined || code === undefined || code.length > 256 || !NQSCHAR.test(code)) return undefined;
  const raw = challenge.params.get('error_description');
  const description = raw !== undefined && NQSCHAR.test(raw) ? capDescription(raw) : undefined;
  const { status } = response;
  return new OAuthError(code, `userinfo endpoint answered ${code}${description ? `: ${description}` : ''} (HTTP ${status})`, {
    status,
    serverCode: code,
    requestSent: true,
    retryable: status >= 500 || status === 429,
    ...(description === undefined ? {} : { description }),
  });
}

export interface AuthChallenge {
  /** Lower-cased: schemes are case-insensitive. */
  scheme: string;
  token68?: string;
  /** Parameter names lower-cased; values unquoted. The first of a repeated name wins. */
  params: Map<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

/**
 * WWW-Authenticate per RFC 9110 §11.6.1: `#challenge`, `challenge = scheme [ 1*SP ( token68 /
 * #auth-param ) ]`, `auth-param = token BWS "=" BWS ( token / quoted-string )`. Several header
 * lines arrive joined by ", " (Headers.get); a comma starts a new challenge when what follows is
 * not `name=`. Parsing stops at the first malformed part, keeping the challenges before it.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let rest = header;
  const skip = (pattern: RegExp) => {
    rest = rest.replace(pattern, '');
  };
  const atEndOfElement = (text: string) => /^[ \t]*(,|$)/.test(text);
  /** A param starts here: `token BWS "=" BWS ( token / quoted-string )`; `abc==` is a token68. */
  const atParam = () => {
    const name = TOKEN.exec(rest)?.[0];
    return name !== undefined && /^[ \t]*=[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z"]/.test(rest.slice(name.length));
  };
  for (;;) {
    skip(/^[ \t,]+/);
    const scheme = TOKEN.exec(rest)?.[0];
    if (scheme === undefined) return challenges; // the end, or junk
    rest = rest.slice(scheme.length);
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: new Map() };
    if (!atEndOfElement(rest)) {
      if (!/^ +/.test(rest)) return challenges;
      skip(/^ +/);
      if (atParam()) {
        if (!readParams(challenge.params)) return challenges; // a broken challenge is not half-trusted
      } else {
        const token68 = TOKEN68.exec(rest)?.[0];
        if (token68 === undefined || !atEndOfElement(rest.slice(token68.length))) return challenges;
        challenge.token68 = token68;
        rest = rest.slice(token68.length);
      }
    }
    challenges.push(challenge);
  }

  /** `#auth-param`, up to a comma followed by something that is not `name=` (the next challenge). */
  function readParams(params: Map<string, string>): boolean {
    for (;;) {
      const name = TOKEN.exec(rest)![0].toLowerCase();
      rest = rest.slice(name.length);
      skip(/^[ \t]*=[ \t]*/);
      const value = readValue();
      if (value === undefined) return false;
      if (!params.has(name)) params.set(name, value);
      skip(/^[ \t]*/);
      if (rest === '') return true;
      if (!rest.startsWith(',')) return false;
      const before = rest;
      skip(/^[ \t,]+/);
      if (!atParam()) {
        rest = before;
        return true;
      }
    }
  }

  /** token / quoted-string (with quoted-pairs), or undefined when neither is there. */
  function readValue(): string | undefined {
    if (!rest.startsWith('"')) {
      const token = TOKEN.exec(rest)?.[0];
      if (token !== undefined) rest = rest.slice(token.length);
      return token;
    }
    let value = '';
    for (let i = 1; i < rest.length; i++) {
      const char = rest[i]!;
      if (char === '"') {
        rest = rest.slice(i + 1);
        return value;
      }
      if (char === '\\') {
        i++;
        if (i >= rest.length) return undefined;
        value += rest[i];
      } else {
        value += char;
      }
    }
    return undefined; // unterminated
  }
}
