/**
 * What the worker fixture (fixtures/worker.ts) and its page (fixtures/worker-app.ts) share; both
 * are bundled for Chromium, so this imports only browser-safe code.
 */
import { indexedDbStorage, type TokenSet } from '../../../src/index.js';

export interface WorkerConfig {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  redirectUri: string;
}

export type WorkerRequest = { id: number; method: string; args: unknown[] };
export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string }
  /** Something went wrong outside any call: the page reports it as a console error. */
  | { type: 'uncaught'; message: string };

/** A race of concurrent setIfAbsent calls in one context: their results, and when they ran (epoch ms). */
export interface RaceResult {
  wins: boolean[];
  started: number;
  settled: number;
}

export interface TokenSummary {
  accessToken: string;
  refreshToken: string | undefined;
  expiresAt: number | undefined;
}

export const summary = (tokens: TokenSet): TokenSummary => ({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresAt: tokens.expiresAt });

/**
 * Opens the database, waits until `at` (epoch ms: one clock for every context of the browser),
 * then starts `count` setIfAbsent calls on `key` at once, each with a value of its own.
 */
export async function race(label: string, key: string, count: number, at: number): Promise<RaceResult> {
  const storage = indexedDbStorage();
  await storage.get(key);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
  const started = Date.now();
  const wins = await Promise.all(Array.from({ length: count }, (_, i) => storage.setIfAbsent!(key, `${label}-${i}`, 60_000)));
  return { wins, started, settled: Date.now() };
}
