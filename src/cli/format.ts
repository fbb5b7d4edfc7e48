import type { TokenSet } from '../tokens.js';

/** `abcd…wxyz (40 chars)`: enough to recognise a secret, not enough to use it. */
export function shorten(secret: string): string {
  if (secret.length <= 12) return `${secret.slice(0, 2)}… (${secret.length} chars)`;
  return `${secret.slice(0, 6)}…${secret.slice(-4)} (${secret.length} chars)`;
}

export function formatTokenSet(tokens: TokenSet, now: number): string {
  const lines = [`  accessToken:  ${shorten(tokens.accessToken)}`, `  tokenType:    ${tokens.tokenType}`];
  lines.push(`  expiresAt:    ${tokens.expiresAt === undefined ? 'never' : `${new Date(tokens.expiresAt).toISOString()} (in ${Math.round((tokens.expiresAt - now) / 1000)} s)`}`);
  if (tokens.refreshToken !== undefined) lines.push(`  refreshToken: ${shorten(tokens.refreshToken)}`);
  if (tokens.scopes !== undefined) lines.push(`  scopes:       ${tokens.scopes.join(' ')}`);
  for (const [key, value] of Object.entries(tokens.extra)) {
    lines.push(`  extra.${key}: ${typeof value === 'string' && key.endsWith('token') ? shorten(value) : JSON.stringify(value)}`);
  }
  return lines.join('\n');
}
