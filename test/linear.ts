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

/**
 * Linear in the input, judged against itself in the same run: a quarter-size input must take at
 * least about a quarter of the time (a quadratic pass takes a sixteenth, so the ratio is ~16 against
 * ~4). A full-size run under `floorMs` passes outright, so timer noise on tiny figures cannot fail
 * it, and a loaded CI machine (which slows both sizes alike) cannot either.
 */
export function expectLinear(fn: (input: string) => unknown, make: (size: number) => string, size: number, floorMs = 50): void {
  const quarter = make(Math.floor(size / 4));
  const full = make(size);
  const smallMs = bestMs(() => fn(quarter));
  const fullMs = bestMs(() => fn(full));
  if (fullMs < floorMs) return;
  expect(fullMs / Math.max(smallMs, 0.01), `full ${fullMs.toFixed(1)} ms vs quarter ${smallMs.toFixed(1)} ms`).toBeLessThan(8);
}
