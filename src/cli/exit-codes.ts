import { isOAuthError } from '../errors.js';

/** The exit codes of `grantflow`; docs/cli.md and `--help` list them. */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  notSignedIn: 3,
  denied: 4,
  timeout: 5,
  portInUse: 6,
  invalidConfiguration: 7,
  cancelled: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An expected failure: one line for the user, a stable code for `--json`, an exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    readonly code: string,
    message: string,
    /** Print the whole usage after the line (an unknown command). */
    readonly showUsage = false,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string, showUsage = false) => new CliError(EXIT.usage, 'usage', message, showUsage);

/** The exit code for an OAuthError from the library. */
function exitCodeForOAuth(code: string): ExitCode {
  switch (code) {
    case 'reauthorization_required':
    case 'invalid_grant':
      return EXIT.notSignedIn;
    case 'access_denied':
      return EXIT.denied;
    case 'flow_expired':
    case 'expired_token':
      return EXIT.timeout;
    case 'invalid_client':
    case 'unauthorized_client':
    case 'invalid_provider':
    case 'invalid_configuration':
    case 'invalid_scope':
    case 'unsupported_grant_type':
    case 'unsupported_response_type':
      return EXIT.invalidConfiguration;
    case 'cancelled':
      return EXIT.cancelled;
    default:
      return EXIT.unexpected;
  }
}

/** Any thrown value as a CliError: expected failures keep their code; the rest is `unexpected`, still one line. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (isOAuthError(error)) {
    const description = error.description && !error.message.includes(error.description) ? ` (${error.description})` : '';
    return new CliError(exitCodeForOAuth(error.code), error.code === 'unknown_error' && error.serverCode ? error.serverCode : error.code, `${error.code}: ${error.message}${description}`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(EXIT.unexpected, 'unexpected', `unexpected error: ${message.split('\n')[0]}`);
}
