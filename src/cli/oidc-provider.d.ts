// oidc-provider ships no types; the demo and the tests use a small, checked part of it.
declare module 'oidc-provider';
