import { OAuthError } from '../errors.js';
import type { TokenSet } from '../tokens.js';
import type { Provider } from './schema.js';

/** What a token endpoint answered, read but not yet judged. */
export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Validates a token response and normalises it into a TokenSet, or throws the OAuthError it
 * carries. Pure: the HTTP call happens elsewhere. Error messages name the exact field at fault
 * and never echo a credential.
 */
export function processTokenResponse(provider: Provider, response: RawResponse, now: number): TokenSet {
  if (response.status < 200 || response.status > 299) throw tokenErrorFrom(provider, response, now);
  const body = parseJsonObject(response);
  const { credential, expiresIn, keep } = provider.token.response;

  const accessToken = body[credential];
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw invalidResponse(response, credential, accessToken === undefined ? 'is missing' : 'must be a non-empty string');
  }
  const tokens: TokenSet = { accessToken, tokenType: 'Bearer', extra: {} };

  if (body.token_type !== undefined) {
    if (typeof body.token_type !== 'string' || body.token_type.length === 0) throw invalidResponse(response, 'token_type', 'must be a string');
    tokens.tokenType = body.token_type;
  }
  if (expiresIn !== null && body[expiresIn] !== undefined && body[expiresIn] !== null) {
    const seconds = lifetimeSeconds(body[expiresIn]);
    if (seconds === undefined) {
      throw invalidResponse(response, expiresIn, `must be a non-negative number of seconds (at most ${MAX_LIFETIME_SECONDS}), or null`);
    }
    const expiresAt = Math.round(now + seconds * 1000);
    if (!Number.isSafeInteger(expiresAt)) throw invalidResponse(response, expiresIn, 'gives an expiry time out of range');
    tokens.expiresAt = expiresAt;
    tokens.issuedAt = Math.round(now);
  }
  if (body.refresh_token !== undefined) {
    if (typeof body.refresh_token !== 'string' || body.refresh_token.length === 0) {
      throw invalidResponse(response, 'refresh_token', 'must be a non-empty string');
    }
    tokens.refreshToken = body.refresh_token;
  }
  if (body.scope !== undefined) {
    if (typeof body.scope !== 'string') throw invalidResponse(response, 'scope', 'must be a string');
    tokens.scopes = body.scope.split(/[ ,]+/).filter(Boolean);
  }
  for (const field of keep) if (body[field] !== undefined) tokens.extra[field] = body[field];
  return tokens;
}

/**
 * The error of another endpoint that answers OAuth error bodies as the token endpoint does
 * (revocation, device authorization, pushed authorization): the same reading, named for that
 * endpoint, without the token endpoint's statusErrors (they describe the token endpoint only).
 */
export function endpointErrorFrom(provider: Provider, response: RawResponse, now: number, endpoint: string): OAuthError {
  const error = tokenErrorFrom({ ...provider, token: { ...provider.token, statusErrors: {} } }, response, now);
  return new OAuthError(error.code, error.message.replace('token endpoint', endpoint), error);
}

/** The longest lifetime accepted: 10 years, in seconds. */
export const MAX_LIFETIME_SECONDS = 315_360_000;

/** The longest `error_description` kept, in characters; a longer one is cut and ends with `…`. */
export const MAX_DESCRIPTION_LENGTH = 1024;

/** Cuts a description to MAX_DESCRIPTION_LENGTH characters (the last one `…`). */
export function capDescription(description: string): string {
  if (description.length <= MAX_DESCRIPTION_LENGTH) return description;
  let cut = description.slice(0, MAX_DESCRIPTION_LENGTH - 1);
  // Do not leave half of a surrogate pair behind.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * A lifetime in seconds: a finite number in [0, 10 years], or a string of ASCII digits (servers
 * send "3600") in the same range. Anything else (negative, NaN, 1e306, "12abc", "1e3", objects,
 * booleans) is undefined.
 */
function lifetimeSeconds(value: unknown): number | undefined {
  let seconds: number;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string' && /^[0-9]{1,20}$/.test(value)) seconds = Number(value);
  else return undefined;
  return Number.isFinite(seconds) && seconds >= 0 && seconds <= MAX_LIFETIME_SECONDS ? seconds : undefined;
}

/**
 * An error answer, told apart three ways (arctic's split): an OAuth error body; a status the
 * provider documents without one (OpenRouter's 403); anything else, which is `invalid_response`.
 */
export function tokenErrorFrom(provider: Provider, response: RawResponse, now: number): OAuthError {
  const { status } = response;
  const body = tryParseJson(response.text);
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now);
  const transient = status >= 500 || status === 429;
  // An answer came back: the request reached the server (and may have been processed).
  const extra = { status, requestSent: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };

  const mapped = provider.token.statusErrors[String(status)];
  if (mapped !== undefined) {
    const message = messageOf(body);
    const description = message === undefined ? response.text.trim().slice(0, 200) || undefined : capDescription(message);
    return new OAuthError(mapped, `token endpoint answered HTTP ${status}${description ? `: ${description}` : ''}`, {
      ...extra,
      ...(description === undefined ? {} : { description }),
      retryable: transient || provider.token.retryableErrors.includes(mapped),
      cause: body,
    });
  }
  if (isObject(body) && typeof body.error === 'string' && body.error.length <= 256 && /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/.test(body.error)) {
    const description = typeof body.error_description === 'string' ? capDescription(body.error_description) : undefined;
    return new OAuthError(body.error, `token endpoint answered ${body.error}${description ? `: ${description}` : ''} (HTTP ${status})`, {
      ...extra,
      ...(description === undefined ? {} : { description }),
      retryable: transient || provider.token.retryableErrors.includes(body.error),
      serverCode: body.error,
      cause: body,
    });
  }
  return new OAuthError('invalid_response', `token endpoint answered HTTP ${status} without an OAuth error body`, {
    ...extra,
    field: 'response.status',
    retryable: transient,
  });
}

export function parseJsonObject(response: RawResponse): Record<string, unknown> {
  const body = tryParseJson(response.text);
  if (body === undefined) {
    throw new OAuthError('invalid_response', `token endpoint answered HTTP ${response.status} with a body that is not JSON`, {
      status: response.status,
      field: 'response.body',
      requestSent: true,
    });
  }
  if (!isObject(body)) {
    throw new OAuthError('invalid_response', `token endpoint answered HTTP ${response.status} with JSON that is not an object`, {
      status: response.status,
      field: 'response.body',
      requestSent: true,
    });
  }
  return body;
}

export function invalidResponse(response: RawResponse, field: string, problem: string): OAuthError {
  return new OAuthError('invalid_response', `"response" body "${field}" property ${problem}`, {
    status: response.status,
    field: `response.body.${field}`,
    requestSent: true,
  });
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ "error": { "message" } }` (OpenRouter), `{ "message" }`, `{ "error": "…" }`. */
function messageOf(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  if (isObject(body.error) && typeof body.error.message === 'string') return body.error.message;
  if (typeof body.message === 'string') return body.message;
  if (typeof body.error_description === 'string') return body.error_description;
  if (typeof body.error === 'string') return body.error;
  return undefined;
}

/**
 * Retry-After is delay-seconds (digits) or an HTTP-date (RFC 9110 §10.2.3), nothing else: a
 * lenient date parser would read "-5" or "1.5" as a date and make it a wait of 0, which says
 * "not processed, repeat at once" for a request that may have been processed.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = httpDate(text, now);
  return date === undefined ? undefined : Math.max(0, date - now);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** The three forms a recipient must accept (RFC 9110 §5.6.7): IMF-fixdate, rfc850-date, asctime-date. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** An HTTP-date as epoch milliseconds (UTC), or undefined when it is not one or names no real time. */
function httpDate(text: string, now: number): number | undefined {
  let parts: [day: string, month: string, year: number, hours: string, minutes: string, seconds: string] | undefined;
  let match = IMF_FIXDATE.exec(text);
  if (match) parts = [match[1]!, match[2]!, Number(match[3]), match[4]!, match[5]!, match[6]!];
  else if ((match = RFC850_DATE.exec(text))) {
    // A two-digit year more than 50 years ahead is the most recent past year with those digits.
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(match[3]);
    if (year > thisYear + 50) year -= 100;
    parts = [match[1]!, match[2]!, year, match[4]!, match[5]!, match[6]!];
  } else if ((match = ASCTIME_DATE.exec(text))) parts = [match[2]!.trim(), match[1]!, Number(match[6]), match[3]!, match[4]!, match[5]!];
  if (!parts) return undefined;
  const [day, month, year, hours, minutes, seconds] = parts;
  const monthIndex = MONTHS.indexOf(month);
  const time = Date.UTC(year, monthIndex, Number(day), Number(hours), Number(minutes), Number(seconds));
  // 31 Feb or 25:00:00 are no dates: Date.UTC would roll them over.
  const check = new Date(time);
  if (check.getUTCDate() !== Number(day) || check.getUTCMonth() !== monthIndex || check.getUTCHours() !== Number(hours) || check.getUTCMinutes() !== Number(minutes)) return undefined;
  if (Number(seconds) > 59) return undefined;
  return time;
}
