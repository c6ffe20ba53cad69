import { CUSTOM_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection } from '@temporalio/worker';
import type pg from 'pg';
import { loadConfig, type Config } from '../platform/config.js';
import { clientConnectionOptions, workerConnectionOptions } from '../platform/temporal-connection.js';
import { dataConverterOf } from '../platform/payload-codec.js';
import { createPool } from '../store/db.js';
import { ensureDatabase, migrateUp } from '../store/migrate.js';
import { ensureTemporalCli, freePort, startDevServer, type DevServer } from '../platform/temporal-dev-server.js';
import { dropDatabaseQuietly, endPool, withDatabase, type BatchResult } from './common.js';

/**
 * What a Temporal benchmark needs, started in parallel: its own in-memory headless dev server, a
 * fresh migrated database, the bench workflow bundle (bench/noop-workflows.ts: every real
 * workflow plus the no-op baselines) in a file, a pool, a client and a worker connection.
 * `close()` stops, closes and drops all of it (call it in `finally`; it never throws).
 */
export interface BenchStack {
  config: Config;
  server: DevServer;
  databaseUrl: string;
  bundlePath: string;
  pool: pg.Pool;
  client: Client;
  workerConnection: NativeConnection;
  close(): Promise<void>;
}

export interface BenchStackOptions {
  /**
   * Environment over process.env for the stack's config, loaded once the dev server is up: its
   * DATABASE_URL and TEMPORAL_ADDRESS are then the stack's own. Without it, `loadConfig()` as is.
   */
  env?: Record<string, string>;
  /**
   * The dev server in its own process group: a terminal's Ctrl-C reaches this process only, which
   * stops the server last (after its drain); it is killed on exit if a second signal ends the run at once.
   */
  ownProcessGroup?: boolean;
}

export async function startBenchStack(label: string, options: BenchStackOptions = {}): Promise<BenchStack> {
  // Bench workers poll unversioned (nobody sets a Current Version on the bench's own server).
  const benchEnv = { ...process.env, WORKER_VERSIONING: process.env.WORKER_VERSIONING ?? 'false' };
  const base = loadConfig(benchEnv);
  const databaseUrl = withDatabase(base.DATABASE_URL, `steadfast_bench_${label}_${process.pid}`);
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-bench-'));
  const bundlePath = join(dir, 'workflow-bundle.js');
  const closers: (() => Promise<unknown>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch((err: Error) => console.error(`[bench] cleanup: ${err.message}`));
  };
  try {
    const cliPath = ensureTemporalCli(base.TEMPORAL_CLI_PATH);
    const ownProcessGroup = options.ownProcessGroup ?? false;
    // Settled, not raced: whatever did start is in `closers` before a failure is thrown.
    const [started, migrated, bundled] = await Promise.allSettled([
      freePort().then((port) => startDevServer({ cliPath, port, logLevel: 'error', ownProcessGroup, searchAttributes: CUSTOM_SEARCH_ATTRIBUTES }, 120_000)).then((s) => {
        closers.push(() => s.stop());
        if (ownProcessGroup) {
          process.once('exit', () => {
            if (s.process.exitCode === null && s.process.signalCode === null) s.process.kill('SIGTERM');
          });
        }
        return s;
      }),
      ensureDatabase(databaseUrl).then(() => {
        closers.push(() => dropDatabaseQuietly(databaseUrl, 'database'));
        return migrateUp(databaseUrl);
      }),
      bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./noop-workflows.ts', import.meta.url)), logger: new DefaultLogger('WARN') }),
    ]);
    if (started.status === 'rejected') throw started.reason;
    if (migrated.status === 'rejected') throw migrated.reason;
    if (bundled.status === 'rejected') throw bundled.reason;
    const server = started.value;
    writeFileSync(bundlePath, bundled.value.code);
    const config = options.env
      ? loadConfig({ ...benchEnv, ...options.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: server.address })
      : base;
    const pool = createPool(databaseUrl, config.DB_POOL_MAX);
    closers.push(() => endPool(pool));
    const connection = await Connection.connect(clientConnectionOptions({ TEMPORAL_ADDRESS: server.address }));
    closers.push(() => connection.close());
    const workerConnection = await NativeConnection.connect(workerConnectionOptions({ TEMPORAL_ADDRESS: server.address }));
    closers.push(() => workerConnection.close());
    return {
      config, server, databaseUrl, bundlePath, pool, workerConnection, close,
      client: new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(config) }),
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Runs `count` calls of `one`, `concurrency` at a time, until done, aborted or `timeoutMs` passed.
 * `one` resolves undefined for a success (its latency is kept) or a failure reason; a call that
 * throws counts as `error:<name>`, one cut short as `aborted` or `timed_out`.
 */
export async function runConcurrently<K extends string>(
  kind: K, count: number, concurrency: number, abort: AbortSignal, timeoutMs: number,
  one: (i: number, signal: AbortSignal) => Promise<string | undefined | void>,
): Promise<BatchResult<K>> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([abort, timeout]);
  // Every in-flight wait may listen on it: `concurrency` listeners at most.
  setMaxListeners(concurrency + 10, signal, abort);
  const result: BatchResult<K> = { kind, count, succeeded: 0, failed: new Map(), elapsedS: 0, latenciesMs: [] };
  const started = performance.now();
  await forEachBounded(count, concurrency, signal, async (i) => {
    const t0 = performance.now();
    let failure: string | undefined | void;
    try {
      failure = await one(i, signal);
    } catch (err) {
      failure = timeout.aborted ? 'timed_out' : signal.aborted ? 'aborted' : `error:${(err as Error).name}`;
    }
    if (failure) {
      result.failed.set(failure, (result.failed.get(failure) ?? 0) + 1);
    } else {
      result.succeeded++;
      result.latenciesMs.push(performance.now() - t0);
    }
  });
  result.elapsedS = (performance.now() - started) / 1000;
  result.latenciesMs.sort((a, b) => a - b);
  return result;
}

/** Runs fn(0) … fn(count - 1), `concurrency` at a time, until done or `signal` aborts. */
export async function forEachBounded(count: number, concurrency: number, signal: AbortSignal, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    for (let i = next++; i < count && !signal.aborted; i = next++) await fn(i);
  }));
}

/**
 * Waits for a run's result, abortable. A signal of its own per run: the client adds an 'abort'
 * listener per gRPC call and never removes it, so a shared signal would collect listeners.
 */
export async function resultOf<T>(client: Client, handle: { result(): Promise<T> }, signal: AbortSignal): Promise<T> {
  const local = new AbortController();
  const onAbort = () => local.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  // Aborted while the run was being started: no 'abort' event is coming any more.
  if (signal.aborted) local.abort();
  try {
    return await client.withAbortSignal(local.signal, () => handle.result());
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
