import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLogs } from '../platform/log.js';
import { freePort } from '../platform/temporal-dev-server.js';
import { createPool } from '../store/db.js';
import { eventually } from '../test/eventually.js';
import { startHarness, type Harness } from '../test/harness.js';
import { spawnWorkerProcess, type CrashableProcess } from '../test/worker-process.js';
import { workerReadiness } from './health.js';
import { startMetricsServer } from './metrics-server.js';

/**
 * The worker's health on its metrics port: `/healthz` (up) and `/readyz` (its workers poll,
 * PostgreSQL and Temporal answer), as the worker process serves them and as the image's
 * HEALTHCHECK (scripts/image/healthcheck.ts) reads them.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

const HEALTHCHECK = fileURLToPath(new URL('../scripts/image/healthcheck.ts', import.meta.url));

/** The image's healthcheck run as the container runs it: its exit code and what it printed. */
function healthcheck(args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', HEALTHCHECK, ...args], { env: { ...process.env, HOST: '127.0.0.1', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe('the worker process\'s health', () => {
  let worker: CrashableProcess;
  let port = 0;
  beforeAll(async () => {
    port = await freePort();
    worker = spawnWorkerProcess(h, { WORKER_METRICS_PORT: String(port) });
  });
  afterAll(async () => {
    await worker?.kill();
  });

  it('answers /healthz, then /readyz 200 once its workers poll; the image\'s healthcheck follows it', async () => {
    const base = `http://127.0.0.1:${port}`;
    const ready = await eventually(async () => {
      worker.assertAlive();
      return getJson(`${base}/readyz`).catch(() => null);
    }, (res) => res?.status === 200, { timeoutMs: 60_000, intervalMs: 200 });
    expect(ready!.body).toEqual({ status: 'ok', down: [], checks: { polling: 'ok', postgres: 'ok', temporal: 'ok' } });
    expect(await getJson(`${base}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });

    const apiPort = String(await freePort()); // nothing listens there: as in the worker's own container
    const env = { WORKER_METRICS_PORT: String(port), PORT: apiPort };
    expect(await healthcheck(['worker'], env)).toMatchObject({ code: 0 });
    // One image for both: without a role it asks both ports, and the API's is absent here.
    const auto = await healthcheck([], env);
    expect(auto, auto.output).toMatchObject({ code: 0 });
    expect(auto.output).toContain(`api http://127.0.0.1:${apiPort}/readyz: absent`);
    expect(await healthcheck(['api'], env)).toMatchObject({ code: 1 });

    await worker.kill();
    expect(await healthcheck([], env)).toMatchObject({ code: 1 });
    expect(await healthcheck(['nonsense'], env)).toMatchObject({ code: 2 });
  });
});

describe('workerReadiness', () => {
  it('says down while the workers do not poll (not yet, or draining), ok while they do', async () => {
    const connection = await NativeConnection.connect({ address: h.config.TEMPORAL_ADDRESS });
    const worker = await Worker.create({
      connection, taskQueue: `health-${Date.now()}`, workflowBundle: { codePath: inject('workflowBundlePath') }, activities: {},
    });
    const polling: Worker[] = [];
    const readiness = workerReadiness({ pool: h.pool, temporal: h.temporal, workers: () => polling });
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, readiness });
    const readyz = server.url.replace('/metrics', '/readyz');
    try {
      expect(await getJson(readyz)).toEqual({ status: 503, body: { status: 'unavailable', down: ['polling'], checks: { polling: 'down', postgres: 'ok', temporal: 'ok' } } });
      polling.push(worker);
      expect((await readiness()).checks.polling).toBe('down'); // created, not running
      const running = worker.run();
      expect(await getJson(readyz)).toMatchObject({ status: 200, body: { status: 'ok', down: [] } });
      worker.shutdown();
      expect((await readiness()).down).toEqual(['polling']);
      await running;
      expect((await readiness()).down).toEqual(['polling']);
    } finally {
      await server.close();
      await connection.close();
    }
  });

  it('names PostgreSQL and Temporal when they do not answer, without the drivers\' errors (those go to the log, once)', async () => {
    const deadPool = createPool('postgres://postgres@127.0.0.1:1/none', 1);
    // No retry interceptor (interceptors: []): the SDK's retries of a call the check gave up on would
    // keep a timer that starts the next attempt after this test closed the connection — an uncaught
    // "Channel has been shut down" in a later file (CI on 2808c1e).
    const deadTemporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 500, interceptors: [] }) });
    const logs = captureLogs();
    try {
      const readiness = workerReadiness({ pool: deadPool, temporal: deadTemporal, workers: () => [] });
      const report = await readiness();
      expect(report).toEqual({ status: 'unavailable', down: ['polling', 'postgres', 'temporal'], checks: { polling: 'down', postgres: 'down', temporal: 'down' } });
      await readiness();
      const down = logs.lines().filter((line) => line.component === 'readyz' && line.msg === 'dependency is down');
      expect(down.map((line) => line.dependency).sort()).toEqual(['postgres', 'temporal']);
    } finally {
      logs.stop();
      await deadPool.end();
      await deadTemporal.connection.close();
    }
  });
});
