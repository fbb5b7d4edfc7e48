/**
 * TokenSet: what every grant returns, whatever the provider calls its credential.
 * Plain JSON, so it can be stored and restored as it is.
 */
export interface TokenSet {
  /** The credential: `access_token`, Poe's `api_key`, OpenRouter's and EUrouter's `key`. */
  accessToken: string;
  tokenType: string;
  /** Epoch milliseconds; absent when the credential does not expire. */
  expiresAt?: number;
  refreshToken?: string;
  scopes?: string[];
  /** The response fields the provider's data says to keep (EUrouter's `user_id`). */
  extra: Record<string, unknown>;
}
