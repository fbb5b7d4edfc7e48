export { authorizationCodeMachine, type AuthorizationCodeEvent } from './authorization-code.js';
export { refreshTokenMachine } from './refresh-token.js';
export { tokenSessionMachine, type TokenSessionEvent } from './token-session.js';
export { clientCredentialsMachine } from './client-credentials.js';
export { clientAssertionMachine } from './client-assertion.js';
export { deviceAuthorizationMachine, type DeviceAuthorizationEvent } from './device-authorization.js';
export { provideServices } from '../src/provide-services.js';
export { createGrantActor, grantOutput, type GrantActorOptions } from '../src/grant-actor.js';
export type { GrantInput, GrantOutput, AuthorizationCodeInput, RefreshTokenInput, TokenSessionInput, ClientCredentialsInput, DeviceAuthorizationInput } from '../src/grants/types.js';
