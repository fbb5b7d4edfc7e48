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
  /** A server sent an error code that none of the lists here has; `serverCode` holds it as sent. */
  'unknown_error',
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

/**
 * The other codes of IANA's OAuth Extensions Error registry that a client can receive: RFC 6750
 * (bearer tokens), RFC 7009 (revocation), RFC 8628 (device grant), RFC 8707 (resource
 * indicators), RFC 9449 (DPoP), RFC 9396 (authorization details), RFC 9126 (PAR), and OpenID
 * Connect's authentication errors.
 */
export const EXTENSION_ERROR_CODES = [
  'invalid_token',
  'insufficient_scope',
  'unsupported_token_type',
  'authorization_pending',
  'slow_down',
  'expired_token',
  'invalid_target',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'invalid_authorization_details',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
] as const;

export type GrantflowErrorCode = (typeof GRANTFLOW_ERROR_CODES)[number];
export type Rfc6749ErrorCode = (typeof RFC6749_ERROR_CODES)[number];
export type ExtensionErrorCode = (typeof EXTENSION_ERROR_CODES)[number];
/**
 * Every code an OAuthError can have: a closed union, so `error.code === 'acess_denied'` does not
 * compile. A server's code outside it becomes `unknown_error`, with the code as sent in `serverCode`.
 */
export type OAuthErrorCode = GrantflowErrorCode | Rfc6749ErrorCode | ExtensionErrorCode;

const KNOWN_CODES: ReadonlySet<string> = new Set<string>([...GRANTFLOW_ERROR_CODES, ...RFC6749_ERROR_CODES, ...EXTENSION_ERROR_CODES]);

export function isOAuthErrorCode(value: unknown): value is OAuthErrorCode {
  return typeof value === 'string' && KNOWN_CODES.has(value);
}

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
  /** The error code exactly as the server sent it (its `error` field or parameter), when a server sent one. */
  serverCode?: string;
  /** The underlying error or the parsed response body. */
  cause?: unknown;
}

/** Marks OAuthErrors across copies of grantflow (an ESM and a CJS copy in one process have two classes). */
const BRAND = Symbol.for('grantflow.OAuthError');

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly code: OAuthErrorCode;
  readonly description: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly field: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly requestSent: boolean | undefined;
  readonly serverCode: string | undefined;

  /** `code` may be a server's: one outside OAuthErrorCode becomes `unknown_error`, kept in `serverCode`. */
  constructor(code: OAuthErrorCode | (string & {}), message: string, options: OAuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = isOAuthErrorCode(code) ? code : 'unknown_error';
    this.serverCode = options.serverCode ?? (isOAuthErrorCode(code) ? undefined : code);
    Object.defineProperty(this, BRAND, { value: true });
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
    if (this.serverCode !== undefined) json.serverCode = this.serverCode;
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
  serverCode?: string;
}

/** Whether `value` is an OAuthError of any copy of grantflow (an ESM and a CJS copy, two bundles). */
export function isOAuthError(value: unknown): value is OAuthError {
  return value instanceof OAuthError || (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true);
}

/** Anything thrown inside a grant becomes an OAuthError; unknown failures keep their cause. */
export function toOAuthError(value: unknown, fallbackCode: OAuthErrorCode = 'invalid_configuration'): OAuthError {
  if (isOAuthError(value)) return value;
  if (value && typeof value === 'object' && (value as { name?: unknown }).name === 'OAuthError' && 'code' in value) {
    return OAuthError.fromJSON(value as SerializedOAuthError);
  }
  const message = value instanceof Error ? value.message : String(value);
  return new OAuthError(fallbackCode, message, { cause: value });
}
