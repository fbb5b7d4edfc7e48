export { authorizationCodeMachine, type AuthorizationCodeEvent } from './authorization-code.js';
export { refreshTokenMachine } from './refresh-token.js';
export { provideServices } from '../src/provide-services.js';
export type { GrantInput, GrantOutput, AuthorizationCodeInput, RefreshTokenInput } from '../src/grants/types.js';
