import { OAuthError } from '../errors.js';
import type { Provider } from '../provider/schema.js';
import type { RawResponse } from '../provider/token-response.js';
import { revealSecret } from '../secret.js';
import type { Services } from '../services/types.js';
import { plainTokenSet, type IdTokenClaims, type TokenSet } from '../tokens.js';
import type { IdTokenExpectation } from './openid.js';
import { grantSession } from './session.js';

/** withIdTokenClaims, for a provider with `openid` data (see openid.ts). */
export async function checkIdToken(
  services: Services,
  provider: Provider,
  clientId: string,
  response: RawResponse,
  tokens: TokenSet,
  expect: IdTokenExpectation,
): Promise<TokenSet> {
  const openid = provider.openid!;
  const idToken = idTokenOf(response);
  if (idToken === undefined) {
    if (expect.required) {
      throw new OAuthError('invalid_response', 'the token response of an OpenID Connect sign-in has no id_token (OIDC Core §3.1.3.3)', {
        status: response.status,
        field: 'response.body.id_token',
        requestSent: true,
      });
    }
    return expect.previous === undefined ? tokens : { ...plainTokenSet(tokens), idTokenClaims: expect.previous };
  }
  let claims: IdTokenClaims;
  try {
    // Imported when first needed: a bundle whose providers have no `openid` data does not carry it.
    const [{ validateIdToken }, jwks] = await Promise.all([import('../oidc/id-token.js'), grantSession(services).jwks()]);
    claims = await validateIdToken(idToken, {
      issuer: provider.issuer!,
      clientId,
      getKey: jwks.keyFor(openid.jwksUri),
      algorithms: openid.idTokenSigningAlgs,
      now: services.clock.now(),
      clockToleranceS: openid.clockToleranceS,
      accessToken: tokens.accessToken,
      ...(expect.nonce === undefined ? {} : { nonce: revealSecret(expect.nonce) }),
      ...(expect.previous === undefined ? {} : { previous: expect.previous }),
    });
  } catch (error) {
    // The server answered and issued tokens: whatever the cause, this is not to be retried.
    if (!(error instanceof OAuthError) || (!error.retryable && error.requestSent === true)) throw error;
    throw new OAuthError(error.code, error.message, {
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.field === undefined ? {} : { field: error.field }),
      ...(error.serverCode === undefined ? {} : { serverCode: error.serverCode }),
      requestSent: true,
      retryable: false,
      cause: error,
    });
  }
  return { ...plainTokenSet(tokens), idTokenClaims: claims };
}

/** The id_token of a token response, or undefined; one that is there but not a string is invalid_response. */
function idTokenOf(response: RawResponse): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    return undefined; // processTokenResponse has refused a body that is not JSON already
  }
  const value = (body as Record<string, unknown> | null)?.id_token;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new OAuthError('invalid_response', '"response" body "id_token" property must be a non-empty string', {
      status: response.status,
      field: 'response.body.id_token',
      requestSent: true,
    });
  }
  return value;
}
