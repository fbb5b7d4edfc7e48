// Each built-in provider is `/* @__PURE__ */ defineProvider({...})`: tsup puts all five in one
// dist chunk, and without the annotation a bundler keeps every call (it cannot know that
// defineProvider has no side effect), so importing `poe` would bring the other four along.
export { poe } from './poe.js';
export { pathOfExile } from './path-of-exile.js';
export { openRouter } from './openrouter.js';
export { euRouter } from './eurouter.js';
export { poems } from './poems.js';
export { genericOAuth2, type GenericOAuth2Options } from './generic.js';
export { defineProvider, parseProvider } from '../provider/parse.js';
export type { Provider, ProviderInput } from '../provider/schema.js';
