/**
 * Shared settings of the property-based suites: a seed that is printed (and can be given back
 * with GRANTFLOW_FUZZ_SEED to replay a failure), and sizes that fit the CI budget, raised for
 * longer runs with GRANTFLOW_FUZZ_SCALE (a multiplier).
 */
import fc from 'fast-check';

export const seed = Number(process.env.GRANTFLOW_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const scale = Number(process.env.GRANTFLOW_FUZZ_SCALE ?? 1);

export const runs = (base: number) => Math.max(1, Math.round(base * scale));

/** fc.assert with the suite's seed, and a line saying what ran (so a run that ran nothing shows). */
export async function check<T>(name: string, property: fc.IAsyncPropertyWithHooks<T> | fc.IPropertyWithHooks<T>, numRuns: number): Promise<void> {
  const started = Date.now();
  await fc.assert(property as fc.IAsyncProperty<T>, { seed, numRuns, endOnFailure: false });
  console.log(`fuzz ${name}: ${numRuns} inputs, seed ${seed} (replay: GRANTFLOW_FUZZ_SEED=${seed}), ${Date.now() - started} ms`);
}

/** Runs `work`, failing if it does not settle within `ms` (every call must settle). */
export async function settlesWithin<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
