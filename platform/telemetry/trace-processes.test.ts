import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../temporal-dev-server.js';
import { createAccount, startHarness, type Harness } from '../../test/harness.js';
import { spawnApiProcess, spawnWorkerProcess, type CrashableProcess } from '../../test/worker-process.js';

/**
 * The entry points as they run (`api/main.ts`, `workers/main.ts`, real processes through tsx) with
 * OTEL_EXPORTER_OTLP_ENDPOINT set: each exports OTLP/HTTP protobuf to a collector (here a fake
 * one that keeps the bodies), and one payment's trace goes from the API process through Temporal
 * into the worker process, with the pg and fetch spans of both (no start flag, no preload).
 */

/** OTLP/HTTP bodies as received (protobuf; searched for the strings and the trace id's bytes). */
async function startCollector(): Promise<{ url: string; bodies: Buffer[]; server: Server }> {
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') bodies.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
}

let h: Harness;
let collector: Awaited<ReturnType<typeof startCollector>>;
const processes: CrashableProcess[] = [];

beforeAll(async () => {
  h = await startHarness({ worker: false });
  collector = await startCollector();
});
afterAll(async () => {
  for (const p of processes) await p.kill();
  await new Promise((resolve) => collector?.server.close(resolve));
  await h?.close();
});

describe('traces from the real processes', () => {
  it('a payment through the API process and the worker process: one trace in both exports', async () => {
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '200' };
    const worker = spawnWorkerProcess(h, otel);
    processes.push(worker);
    const port = await freePort();
    // A short refund window: the saga closes, so its RunWorkflow span ends and is exported.
    const api = spawnApiProcess(h, port, { ...otel, API_WAIT_WINDOW_MS: '20000', REFUND_WINDOW: '1s' });
    processes.push(api);
    await Promise.all([worker.ready(), api.ready()]);

    const tenant = await h.newTenant();
    const merchant = await createAccount(tenant.call, { type: 'merchant' });
    const res = await fetch(`http://127.0.0.1:${port}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 990, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_visa' } }),
    });
    expect(res.status).toBe(201);
    const traceId = /^00-([0-9a-f]{32})-[0-9a-f]{16}-01$/.exec(res.headers.get('traceparent') ?? '')?.[1];
    expect(traceId).toBeDefined();
    expect(res.headers.get('request-id')).toBe(traceId);
    const traceBytes = Buffer.from(traceId!, 'hex');

    /** What the collector got from `service` that holds this trace: the bodies as one latin1 text. */
    const exported = (service: string) => collector.bodies
      .filter((b) => b.includes(service) && b.includes(traceBytes))
      .map((b) => b.toString('latin1')).join('\n');
    const apiWants = ['POST /v1/payments', 'UpdateWithStartWorkflow:untilAnswered', 'INSERT INTO payments'];
    const workerWants = [
      'RunWorkflow:paymentSaga', 'StartActivity:authorizePayment', 'RunActivity:authorizePayment', 'RunActivity:capturePayment',
      '/processors/acq_primary/authorizations', 'ledger-write-transaction',
    ];
    await expect.poll(() => {
      worker.assertAlive();
      api.assertAlive();
      const [fromApi, fromWorker] = [exported('steadfast-api'), exported('steadfast-worker')];
      return [...apiWants.filter((w) => !fromApi.includes(w)), ...workerWants.filter((w) => !fromWorker.includes(w))];
    }, { timeout: 30_000, interval: 250 }).toEqual([]);
  });
});
