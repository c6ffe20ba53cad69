import { expect } from 'vitest';

/** The best of five runs: a quadratic pass is slow every time; a busy machine only sometimes. */
export function bestMs(fn: () => unknown): number {
  let best = Infinity;
  for (let i = 0; i < 5; i += 1) {
    const start = performance.now();
    fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** Measurements of one input pair: a busy machine can slow one of them only, so a failed ratio is measured again. */
const MEASUREMENTS = 3;

/**
 * Linear in the input, judged against itself in the same run: a quarter-size input must take at
 * least about a quarter of the time (a quadratic pass takes a sixteenth, so the ratio is ~16 against
 * ~4). A full-size run under `floorMs` passes outright, so timer noise on tiny figures cannot fail
 * it. The two sizes are timed in turns (best of five each), and a ratio over the bound is measured
 * again, up to MEASUREMENTS times: a burst of load on a shared CI machine slows a stretch of runs,
 * not every measurement, while a quadratic pass is over the bound every time.
 */
export function expectLinear(fn: (input: string) => unknown, make: (size: number) => string, size: number, floorMs = 50): void {
  const quarter = make(Math.floor(size / 4));
  const full = make(size);
  let ratio = 0;
  let figures = '';
  for (let attempt = 0; attempt < MEASUREMENTS; attempt += 1) {
    let smallMs = Infinity;
    let fullMs = Infinity;
    for (let i = 0; i < 5; i += 1) {
      smallMs = Math.min(smallMs, bestMs1(() => fn(quarter)));
      fullMs = Math.min(fullMs, bestMs1(() => fn(full)));
    }
    if (fullMs < floorMs) return;
    ratio = fullMs / Math.max(smallMs, 0.01);
    figures = `full ${fullMs.toFixed(1)} ms vs quarter ${smallMs.toFixed(1)} ms`;
    if (ratio < 8) break;
  }
  expect(ratio, figures).toBeLessThan(8);
}

function bestMs1(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}
