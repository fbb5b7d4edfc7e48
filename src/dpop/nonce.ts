/** Any Headers-like object (fetch's Headers, or a shape): names are looked up case-insensitively by it. */
export interface HeadersLike {
  get(name: string): string | null;
}

/** A server's answer, as far as a nonce error needs it (a RawResponse is one). */
export interface NonceErrorResponse {
  status: number;
  headers: HeadersLike;
  /** The body; only a 400 from an authorization server needs it. */
  text?: string;
}

/** RFC 9449 §8.1: nonce = 1*NQCHAR; NQCHAR = %x21 / %x23-5B / %x5D-7E. */
const NONCE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export const isDpopNonce = (value: unknown): value is string => typeof value === 'string' && value.length <= 1024 && NONCE.test(value);

/** The DPoP-Nonce header of a response, when it is a valid nonce. */
export function dpopNonceOf(headers: HeadersLike): string | undefined {
  const value = headers.get('dpop-nonce')?.trim();
  return isDpopNonce(value) ? value : undefined;
}

export interface DpopNonceStore {
  /** Keeps the response's DPoP-Nonce for the request URL's origin; a response without one changes nothing. */
  remember(url: string | URL, headers: HeadersLike): void;
  /** The latest nonce for the URL's origin, if any. */
  get(url: string | URL): string | undefined;
}

const originOf = (url: string | URL): string | undefined => {
  try {
    const { origin } = new URL(url);
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
};

/**
 * The latest DPoP-Nonce per origin: a nonce belongs to the server that issued it (RFC 9449 §8.2,
 * §9), and the authorization and resource servers keep theirs apart. Bounded: past `max` origins
 * (default 100), the least recently used is forgotten.
 */
export function createDpopNonceStore(options: { max?: number } = {}): DpopNonceStore {
  const max = Math.max(1, options.max ?? 100);
  const nonces = new Map<string, string>();
  return {
    remember(url, headers) {
      const origin = originOf(url);
      const nonce = dpopNonceOf(headers);
      if (origin === undefined || nonce === undefined) return;
      nonces.delete(origin); // re-inserted last: most recently used
      nonces.set(origin, nonce);
      if (nonces.size > max) nonces.delete(nonces.keys().next().value!);
    },
    get(url) {
      const origin = originOf(url);
      const nonce = origin === undefined ? undefined : nonces.get(origin);
      if (nonce !== undefined) {
        nonces.delete(origin!);
        nonces.set(origin!, nonce);
      }
      return nonce;
    },
  };
}

/** One challenge of a WWW-Authenticate header (RFC 9110 §11.6.1); param names lower-cased. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
  token68?: string;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y;
const QUOTED = /"((?:[\t \x21\x23-\x5B\x5D-\x7E\x80-\uFFFF]|\\[\t \x21-\x7E\x80-\uFFFF])*)"/y;
const OWS = /[ \t]*/y;
const SP = / +/y;

/**
 * Parses a WWW-Authenticate value: several challenges, each with a token68 or auth-params whose
 * values are tokens or quoted strings (commas and escapes inside quotes are data). Parsing stops
 * at the first syntax error and keeps the challenges before it.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const match = (re: RegExp) => {
    re.lastIndex = i;
    const found = re.exec(header);
    if (found) i = re.lastIndex;
    return found;
  };
  const atEnd = () => (match(OWS), i >= header.length || header[i] === ',');
  /** name BWS "=" BWS ( token / quoted-string ); nothing consumed when it is not one. */
  const param = (): [string, string] | undefined => {
    const start = i;
    const name = match(TOKEN);
    if (name && (match(OWS), header[i] === '=')) {
      i++;
      match(OWS);
      const quoted = match(QUOTED);
      if (quoted) return [name[0].toLowerCase(), quoted[1]!.replace(/\\(.)/g, '$1')];
      const token = match(TOKEN);
      if (token) return [name[0].toLowerCase(), token[0]];
    }
    i = start;
    return undefined;
  };

  for (;;) {
    while (match(OWS), header[i] === ',') i++; // empty list elements are allowed
    if (i >= header.length) return challenges;
    const scheme = match(TOKEN);
    if (!scheme) return challenges;
    const challenge: AuthChallenge = { scheme: scheme[0], params: Object.create(null) as Record<string, string> };
    if (match(SP) && !atEnd()) {
      const first = param();
      if (first) {
        let next: [string, string] | undefined = first;
        while (next) {
          challenge.params[next[0]] ??= next[1]; // a repeated name (invalid) keeps its first value
          if (!atEnd()) return challenges;
          if (header[i] !== ',') break;
          i++;
          while (match(OWS), header[i] === ',') i++;
          next = param(); // not a param: the next challenge starts here
        }
      } else {
        const token68 = match(TOKEN68);
        if (!token68 || !atEnd()) return challenges;
        challenge.token68 = token68[0];
      }
    } else if (!atEnd()) return challenges;
    challenges.push(challenge);
  }
}

/**
 * Whether a server asks for a (new) DPoP nonce, with one to retry with once:
 * - an authorization server (RFC 9449 §8): HTTP 400, JSON `{"error":"use_dpop_nonce"}`;
 * - a resource server (§9): HTTP 401, `WWW-Authenticate: DPoP error="use_dpop_nonce"`;
 * and, either way, a valid `DPoP-Nonce` header: without one a retry would fail the same way.
 */
export function isDpopNonceError(response: NonceErrorResponse): boolean {
  if (dpopNonceOf(response.headers) === undefined) return false;
  if (response.status === 400) {
    try {
      const body: unknown = JSON.parse(response.text ?? '');
      return typeof body === 'object' && body !== null && (body as { error?: unknown }).error === 'use_dpop_nonce';
    } catch {
      return false;
    }
  }
  if (response.status === 401) {
    const header = response.headers.get('www-authenticate');
    return header !== null && parseWwwAuthenticate(header).some((c) => c.scheme.toLowerCase() === 'dpop' && c.params.error === 'use_dpop_nonce');
  }
  return false;
}
