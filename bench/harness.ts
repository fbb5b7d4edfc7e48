/** A small, dependency-free benchmark loop: warm up, then the median of several timed samples. */
export interface Result {
  name: string;
  opsPerSecond: number;
}

export async function measure(name: string, fn: () => Promise<unknown> | unknown, options: { iterations?: number; samples?: number } = {}): Promise<Result> {
  const iterations = options.iterations ?? 2000;
  const samples = options.samples ?? 7;
  for (let i = 0; i < Math.min(500, iterations); i++) await fn();
  const rates: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) await fn();
    rates.push(iterations / ((performance.now() - start) / 1000));
  }
  rates.sort((a, b) => a - b);
  return { name, opsPerSecond: rates[Math.floor(rates.length / 2)]! };
}

export function report(title: string, ours: Result, theirs: Result): string {
  const ratio = ours.opsPerSecond / theirs.opsPerSecond;
  const fmt = (r: Result) => `${r.name.padEnd(34)} ${Math.round(r.opsPerSecond).toLocaleString('en-US').padStart(12)} ops/s`;
  return `${title}\n  ${fmt(ours)}\n  ${fmt(theirs)}\n  ratio: ${ratio.toFixed(2)}× (${ratio >= 1 ? 'faster' : 'slower'})\n`;
}
