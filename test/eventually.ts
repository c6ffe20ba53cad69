import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** Give up after this long (a wide margin: a loaded 2-core CI is slow, a right answer is usually fast). */
  timeoutMs?: number;
  /** Pause between two reads. */
  intervalMs?: number;
}

/**
 * Polls `read` until `done` holds for its value and returns that value; throws after `timeoutMs`
 * with the last value read. Use it wherever a test waits for something to happen (a row written,
 * a message received, a cache dropped) instead of sleeping a fixed time and hoping.
 *
 * @example
 * const row = await eventually(() => deliveryRow(id), (r) => r.status === 'sent', { timeoutMs: 20_000 });
 */
export async function eventually<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  options: EventuallyOptions | number = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 50 } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${describe(value)}`);
    await sleep(intervalMs);
  }
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
