import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { withDatabaseName } from '../platform/postgres-url.js';
import { dropDatabase } from '../store/migrate.js';
import { setDefaultLogLevel } from '../platform/log.js';

/** Small helpers shared by the benchmarks (they are scripts, not tests: they print results). */

// Their report is their output: the API's access lines and the workers' info lines would bury it
// (and cost time in the measured path). Warnings and errors still show; LOG_LEVEL overrides.
setDefaultLogLevel('warn');

export interface IntOption {
  default: number;
  min: number;
  max: number;
}

/** Parses `--name value` integer flags from the command line (the benchmarks read no environment). */
export function parseIntArgs<K extends string>(spec: Record<K, IntOption>, strings: Record<string, string[]> = {}) {
  const options: Record<string, { type: 'string' }> = {};
  for (const name of [...Object.keys(spec), ...Object.keys(strings)]) options[name] = { type: 'string' };
  const { values } = parseArgs({ args: process.argv.slice(2), options, strict: true, allowPositionals: false });
  const ints = {} as Record<K, number>;
  for (const [name, opt] of Object.entries(spec) as [K, IntOption][]) {
    const raw = values[name];
    const n = raw === undefined ? opt.default : Number(raw);
    if (!Number.isInteger(n) || n < opt.min || n > opt.max) {
      throw new Error(`--${name} must be an integer in [${opt.min}, ${opt.max}], got ${String(raw)}`);
    }
    ints[name] = n;
  }
  const choices: Record<string, string> = {};
  for (const [name, allowed] of Object.entries(strings)) {
    const raw = values[name];
    const value = typeof raw === 'string' ? raw : allowed[0]!;
    if (!allowed.includes(value)) throw new Error(`--${name} must be one of ${allowed.join(', ')}, got ${value}`);
    choices[name] = value;
  }
  return { ints, choices };
}

/** The same server(s) and credentials as `base`, another database (a one-host or a several-host URL). */
export function withDatabase(base: string, name: string): string {
  return withDatabaseName(base, name);
}

export function percentile(sortedAsc: number[], p: number): number {
  if (sortedAsc.length === 0) return Number.NaN;
  const index = Math.min(sortedAsc.length - 1, Math.max(0, Math.ceil((p / 100) * sortedAsc.length) - 1));
  return sortedAsc[index]!;
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/**
 * Ends a pg pool and waits until its connections are really closed: `pool.end()` resolves before
 * its clients' sockets close, so a `DROP DATABASE … WITH (FORCE)` right after it can kill them
 * mid-close (logged as "[db] idle client error terminating connection due to administrator command").
 */
export async function endPool(pool: {
  totalCount: number;
  end(): Promise<void>;
  on(event: 'remove', listener: () => void): unknown;
}): Promise<void> {
  const open = pool.totalCount;
  const allRemoved = new Promise<void>((resolve) => {
    let removed = 0;
    if (open === 0) resolve();
    pool.on('remove', () => {
      if (++removed >= open) resolve();
    });
  });
  await pool.end();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([allRemoved, new Promise<void>((r) => (timer = setTimeout(r, 5_000)))]);
  clearTimeout(timer);
}

/** Drops a benchmark database, reporting (not throwing) a failure: cleanup must go on. */
export async function dropDatabaseQuietly(url: string, label: string): Promise<void> {
  await dropDatabase(url).catch((err: Error) => console.error(`[bench] could not drop the ${label}: ${err.message}`));
}

/** What a benchmark reports on its last line: figures (numbers, the unit in the name) and target verdicts. */
export interface BenchReport {
  figures: Record<string, number>;
  targets: Record<string, boolean>;
}

const reported: BenchReport = { figures: {}, targets: {} };

/**
 * Records figures and target verdicts for the run's last line; call it after each phase (a name
 * given again replaces its value), so an aborted or failed run still reports what it measured.
 */
export function report(part: Partial<BenchReport>): void {
  Object.assign(reported.figures, part.figures);
  Object.assign(reported.targets, part.targets);
}

/** The report's key of an "at least" target: `atLeastKey('ratio', 0.6)` is `ratioAtLeast0_6`. */
export const atLeastKey = (name: string, target: number) => `${name}AtLeast${String(target).replace('.', '_')}`;

/**
 * Runs a benchmark's main and exits: 0, 130 when interrupted, 1 on failure. Its last line on
 * stdout, after main's cleanup, is one line of JSON: `{"bench", "figures", "targets", "ok"}`
 * (figures rounded to 3 decimals, a non-finite one as null; ok false when aborted or failed).
 */
export function runBenchmark(bench: string, main: () => Promise<void>, abort: AbortController): void {
  const finish = (code: number) => {
    const round = (_key: string, value: unknown) =>
      typeof value === 'number' && Number.isFinite(value) ? Math.round(value * 1000) / 1000 : value;
    console.log(JSON.stringify({ bench, ...reported, ok: code === 0 }, round));
    process.exit(code);
  };
  main().then(
    () => finish(abort.signal.aborted ? 130 : 0),
    (err: unknown) => {
      console.error('[bench] failed:', err);
      finish(1);
    },
  );
}

/** The first SIGINT/SIGTERM aborts the run (which then cleans up); a second one exits at once. */
export function abortOnSignals(): AbortController {
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(130);
    console.error(`\n[bench] ${signal}: stopping and cleaning up (again to exit at once)`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return abort;
}

/**
 * The check a benchmark makes after each phase: false while the run goes on; true (stop quietly)
 * once SIGINT/SIGTERM aborted it; throws once `runSignal` aborted for its timeout instead.
 */
export function phaseStopper(runSignal: AbortSignal, abort: AbortController, timeoutS: number): () => boolean {
  return () => {
    if (!runSignal.aborted) return false;
    if (abort.signal.aborted) return true;
    throw new Error(`timed out after ${timeoutS} s (--timeout)`);
  };
}

/** One measured batch of a benchmark: how many ran, succeeded and failed (by reason), how fast. */
export interface BatchResult<K extends string> {
  kind: K;
  count: number;
  succeeded: number;
  failed: Map<string, number>;
  elapsedS: number;
  latenciesMs: number[];
}

/** The JSON body of an API answer, or null when it is not JSON (then reported by status only). */
export function parseBody<T>(text: string): T | null {
  try {
    return text ? (JSON.parse(text) as T) : null;
  } catch {
    return null;
  }
}

/** Deletes the Redis keys a benchmark created (SCAN, so Redis is never blocked), returning how many. */
export async function deleteKeys(redis: Redis, match: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = nextCursor;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
