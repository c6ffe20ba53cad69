import type { Client } from '@temporalio/client';
import type { State } from '@temporalio/worker';
import { within } from '../platform/within.js';
import { ping, type Db } from '../store/db.js';
import { childLogger } from '../platform/log.js';

const log = childLogger({ component: 'readyz' });

const CHECK_TIMEOUT_MS = 2_000;

export type CheckState = 'ok' | 'down';

/** `/readyz`'s body: the API's shape (contract §0), with the worker's own checks. */
export interface ReadinessReport {
  status: 'ok' | 'unavailable';
  down: string[];
  checks: Record<string, CheckState>;
}

export interface WorkerReadinessDeps {
  pool: Db;
  temporal: Pick<Client, 'workflowService'>;
  /** The process's workers (none yet while it starts): all must be polling. */
  workers: () => readonly { getState(): State }[];
}

/**
 * The worker process's readiness, served on its metrics port (workers/metrics-server.ts): every
 * worker polls (`RUNNING`: not yet while it starts, no more once a SIGTERM has begun its drain),
 * PostgreSQL and Temporal answer. As the API's `/readyz`: `ok` or `down` per check, never the
 * driver's error text (the endpoint has no auth); the error goes to the log, once per change.
 * Redis is not checked: the worker runs on without it (the outbound limiter falls back in process).
 */
export function workerReadiness({ pool, temporal, workers }: WorkerReadinessDeps): () => Promise<ReadinessReport> {
  const wasDown = new Set<string>();
  const remote = async (name: string, run: () => Promise<unknown>): Promise<[string, CheckState]> => {
    try {
      await within(CHECK_TIMEOUT_MS, run());
      if (wasDown.delete(name)) log.info({ dependency: name }, 'dependency is back');
      return [name, 'ok'];
    } catch (err) {
      if (!wasDown.has(name)) log.error({ dependency: name, err }, 'dependency is down');
      wasDown.add(name);
      return [name, 'down'];
    }
  };
  return async () => {
    const all = workers();
    const polling: CheckState = all.length > 0 && all.every((worker) => worker.getState() === 'RUNNING') ? 'ok' : 'down';
    const results = await Promise.all([
      remote('postgres', () => ping(pool)),
      remote('temporal', () => temporal.workflowService.getSystemInfo({})),
    ]);
    const checks: Record<string, CheckState> = { polling, ...Object.fromEntries(results) };
    const down = Object.entries(checks).filter(([, state]) => state === 'down').map(([name]) => name);
    return { status: down.length ? 'unavailable' : 'ok', down, checks };
  };
}
