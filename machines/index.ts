export { authorizationCodeMachine, type AuthorizationCodeEvent } from './authorization-code.js';
export { refreshTokenMachine } from './refresh-token.js';
export { tokenSessionMachine, type TokenSessionEvent } from './token-session.js';
export { provideServices } from '../src/provide-services.js';
export type { GrantInput, GrantOutput, AuthorizationCodeInput, RefreshTokenInput, TokenSessionInput } from '../src/grants/types.js';
