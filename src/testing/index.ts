/** grantflow/testing: fake providers that follow each provider's document, for tests of your own app. */
export { fakePoe } from './fake-poe.js';
export { fakePathOfExile, type PathOfExileFakeOptions } from './fake-path-of-exile.js';
export { fakeOpenRouter } from './fake-openrouter.js';
export { fakeEuRouter } from './fake-eurouter.js';
export { fakePoems } from './fake-poems.js';
export { rebaseProvider } from './rebase.js';
export {
  FakeProviderError,
  type ApproveOptions,
  type FailureKind,
  type FakeClient,
  type FakeClock,
  type FakeOptions,
  type FakeProvider,
  type FetchLike,
  type LoggedRequest,
} from './kit.js';
