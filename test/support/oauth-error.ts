import { expect } from 'vitest';
import { OAuthError } from '../../src/errors.js';

/** The OAuthError that `run` throws; the test fails when it throws nothing or something else. */
export function thrown(run: () => unknown): OAuthError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return error as OAuthError;
  }
  throw new Error('expected an OAuthError');
}

/** The OAuthError that `promise` rejects with; the test fails when it resolves or rejects with something else. */
export async function rejected(promise: Promise<unknown>): Promise<OAuthError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return error as OAuthError;
  }
  throw new Error('expected an OAuthError');
}
