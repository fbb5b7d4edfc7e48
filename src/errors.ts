/**
 * OAuthError: the one error type of grantflow. `code` is an RFC 6749 code when the server sent
 * one, or one of grantflow's own; `field` names the exact input or response field at fault.
 * Messages never echo a secret: callers build them from names and public values only.
 */
export const GRANTFLOW_ERROR_CODES = [
  'state_mismatch',
  'invalid_callback',
  'flow_not_found',
  'flow_expired',
  'reauthorization_required',
  'invalid_response',
  'network_error',
  'timeout',
  'storage_error',
  'lock_timeout',
  'invalid_provider',
  'invalid_configuration',
  'cancelled',
] as const;

export const RFC6749_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'unsupported_response_type',
  'invalid_scope',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
] as const;

export type GrantflowErrorCode = (typeof GRANTFLOW_ERROR_CODES)[number];
export type Rfc6749ErrorCode = (typeof RFC6749_ERROR_CODES)[number];
/** Known codes autocomplete; any other code a server sends is kept as it is. */
export type OAuthErrorCode = GrantflowErrorCode | Rfc6749ErrorCode | (string & {});

export interface OAuthErrorOptions {
  /** The server's `error_description`, or grantflow's explanation. */
  description?: string;
  /** HTTP status of the response that caused the error, when there was one. */
  status?: number;
  /** Whether repeating the same request may succeed (network error, 5xx, 429, retryable codes). */
  retryable?: boolean;
  /** The input, provider or response field at fault, as a dotted path: `token.url`, `response.body.api_key`. */
  field?: string;
  /** Milliseconds the server asked us to wait (Retry-After). */
  retryAfterMs?: number;
  /**
   * Whether the request may have reached the server: `false` only when it provably did not
   * (connection refused, unknown host, invalid URL), so repeating it cannot process it twice.
   */
  requestSent?: boolean;
  /** The underlying error or the parsed response body. */
  cause?: unknown;
}

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly code: OAuthErrorCode;
  readonly description: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly field: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly requestSent: boolean | undefined;

  constructor(code: OAuthErrorCode, message: string, options: OAuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.description = options.description;
    this.status = options.status;
    this.retryable = options.retryable ?? false;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
    this.requestSent = options.requestSent;
  }

  /** A plain, JSON-safe view: machine outputs and persisted snapshots carry errors as data. */
  toJSON(): SerializedOAuthError {
    const json: SerializedOAuthError = { name: 'OAuthError', code: this.code, message: this.message, retryable: this.retryable };
    if (this.description !== undefined) json.description = this.description;
    if (this.status !== undefined) json.status = this.status;
    if (this.field !== undefined) json.field = this.field;
    if (this.retryAfterMs !== undefined) json.retryAfterMs = this.retryAfterMs;
    if (this.requestSent !== undefined) json.requestSent = this.requestSent;
    return json;
  }

  static fromJSON(json: SerializedOAuthError): OAuthError {
    return new OAuthError(json.code, json.message, json);
  }
}

export interface SerializedOAuthError {
  name: 'OAuthError';
  code: OAuthErrorCode;
  message: string;
  retryable: boolean;
  description?: string;
  status?: number;
  field?: string;
  retryAfterMs?: number;
  requestSent?: boolean;
}

export function isOAuthError(value: unknown): value is OAuthError {
  return value instanceof OAuthError;
}

/** Anything thrown inside a grant becomes an OAuthError; unknown failures keep their cause. */
export function toOAuthError(value: unknown, fallbackCode: OAuthErrorCode = 'invalid_configuration'): OAuthError {
  if (value instanceof OAuthError) return value;
  if (value && typeof value === 'object' && (value as { name?: unknown }).name === 'OAuthError' && 'code' in value) {
    return OAuthError.fromJSON(value as SerializedOAuthError);
  }
  const message = value instanceof Error ? value.message : String(value);
  return new OAuthError(fallbackCode, message, { cause: value });
}
