/**
 * Measuring side by side in one process: batches of each contender interleaved (A B, then B A, …)
 * so that drift, GC and JIT state hit both alike; the figure is the median over batches.
 */
export interface Contender {
  name: string;
  /** Runs one batch of `size` operations (sequentially or all in flight, as the figure says). */
  batch(size: number): Promise<void>;
}

export interface Figure {
  title: string;
  unit: string;
  ours: number;
  theirs: number;
  /** ours / theirs: below 1 is better for costs. */
  ratio: number;
  goal?: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** CPU time (user + system, µs) of one batch, per operation. */
async function cpuPerOp(contender: Contender, size: number): Promise<number> {
  const start = process.cpuUsage();
  await contender.batch(size);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / size;
}

export async function compareCpu(title: string, ours: Contender, theirs: Contender, options: { size: number; batches: number; warmup?: number; goal?: number }): Promise<Figure> {
  for (let i = 0; i < (options.warmup ?? 3); i++) {
    await ours.batch(options.size);
    await theirs.batch(options.size);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < options.batches; i++) {
    if (i % 2 === 0) {
      a.push(await cpuPerOp(ours, options.size));
      b.push(await cpuPerOp(theirs, options.size));
    } else {
      b.push(await cpuPerOp(theirs, options.size));
      a.push(await cpuPerOp(ours, options.size));
    }
  }
  const oursMedian = median(a);
  const theirsMedian = median(b);
  return { title, unit: 'µs CPU', ours: oursMedian, theirs: theirsMedian, ratio: oursMedian / theirsMedian, ...(options.goal === undefined ? {} : { goal: options.goal }) };
}

const gc = () => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc (npm run bench does)');
  collect();
  collect();
};

/** What a heap round keeps alive: a property, not a local, so that clearing it really frees it (an awaited local may linger in the async frame). */
const box: { kept?: unknown } = {};

async function heapRound(hold: (count: number) => Promise<unknown>, count: number): Promise<number> {
  box.kept = undefined;
  gc();
  const before = process.memoryUsage().heapUsed;
  box.kept = await hold(count);
  if (box.kept === undefined) throw new Error('hold() must return what it keeps alive');
  gc();
  return (process.memoryUsage().heapUsed - before) / count;
}

/** Heap bytes retained per item by `hold(count)`, which returns what it keeps alive; median of `rounds`. */
export async function heapPerItem(hold: (count: number) => Promise<unknown>, count: number, rounds = 3): Promise<number> {
  const sizes: number[] = [];
  for (let r = 0; r < rounds; r++) sizes.push(await heapRound(hold, count));
  box.kept = undefined;
  return median(sizes);
}

export function formatTable(figures: Figure[]): string {
  const rows = figures.map((f) => [f.title, `${round(f.ours)} ${f.unit}`, `${round(f.theirs)} ${f.unit}`, `${f.ratio.toFixed(2)}×`, f.goal === undefined ? '' : `≤ ${f.goal}×`, f.goal === undefined ? '' : f.ratio <= f.goal ? 'met' : 'not met']);
  const header = ['figure', 'grantflow', 'baseline', 'ratio', 'goal', ''];
  const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
  return lines.join('\n');
}

const round = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
