import { inspectionSettled } from '../../src/index.js';

/**
 * Waits until no inspector message arrived for 100 ms: @statelyai/inspect sends on idle
 * callbacks, some inspectors then over a socket.
 */
export async function quiet(messages: unknown[]): Promise<void> {
  let seen = -1;
  let still = 0;
  for (let i = 0; i < 500 && still < 5; i++) {
    still = seen === messages.length ? still + 1 : 0;
    seen = messages.length;
    await inspectionSettled();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
