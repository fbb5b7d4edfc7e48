export { authorizationCodeMachine, type AuthorizationCodeEvent } from './authorization-code.js';
export { provideServices } from '../src/provide-services.js';
export type { GrantInput, GrantOutput, AuthorizationCodeInput } from '../src/grants/types.js';
