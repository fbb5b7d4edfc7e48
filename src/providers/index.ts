export { poe } from './poe.js';
export { pathOfExile } from './path-of-exile.js';
export { openRouter } from './openrouter.js';
export { euRouter } from './eurouter.js';
export { poems } from './poems.js';
export { genericOAuth2, type GenericOAuth2Options } from './generic.js';
export { defineProvider, parseProvider } from '../provider/parse.js';
export type { Provider, ProviderInput } from '../provider/schema.js';
