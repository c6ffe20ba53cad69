import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../platform/config.js';
import { dataConverterOf } from '../../platform/payload-codec.js';
import { REPO_ROOT } from '../../platform/temporal-dev-server.js';
import { createPool } from '../../store/db.js';
import { freeTopologyPorts, startTopology, type Topology } from '../topology/topology.js';
import { FAULT_KINDS, inject, schedule, type FaultKind, type Injection } from './faults.js';
import { seededRandom } from './random.js';
import { checkInvariants, committedTransfers, lostTransfers, type CommittedTransfer } from './invariants.js';
import { drain, prepareWorkload, startWorkload, type Workload } from './workload.js';

/**
 * `npm run chaos` (issue #15, README "Running in production → The chaos suite"): the production
 * topology (HAProxy over two APIs, two workers, Temporal Server on a PostgreSQL primary with a
 * synchronous standby, Redis, simulators) on free loopback ports, a steady mixed load over the
 * balancer, and every fault of faults.ts injected CHAOS_TIMES times (default 3) in a seeded random
 * order at random moments. Then the load drains and every invariant is checked. Prints one line per
 * fault, one JSON line of figures and verdicts, and `N passed, M failed`; exits 1 on any failure.
 *
 * Environment: CHAOS_SEED (repeat a run), CHAOS_TIMES (3), CHAOS_RATE (operations/s, 4),
 * CHAOS_RTO_MAX_S (60), CHAOS_KEEP=1 (keep .data/chaos-<pid>/ with the logs).
 */

const seed = Number(process.env.CHAOS_SEED ?? (Date.now() % 1_000_000_007));
const times = Number(process.env.CHAOS_TIMES ?? 3);
const ratePerS = Number(process.env.CHAOS_RATE ?? 4);
const rtoMaxS = Number(process.env.CHAOS_RTO_MAX_S ?? 60);
const random = seededRandom(seed);
const baseDir = resolve(REPO_ROOT, `.data/chaos-${process.pid}`);
/** Longer than PROCESSOR_TIMEOUT_MS below: the answer comes after the caller gave up. */
const PROCESSOR_HOLD_MS = 4_000;
/** How long to wait for the next success after a fault before calling it a failure. */
const RECOVERY_WAIT_MS = 180_000;
const DRAIN_TIMEOUT_MS = 180_000;

const log = (msg: string) => console.log(`[chaos] ${msg}`);

interface FaultResult extends Injection {
  rtoMs: number | null;
  /** pg_failover: transfers acknowledged before the kill and missing after the promotion. */
  lost?: number;
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

async function main(): Promise<number> {
  const started = Date.now();
  mkdirSync(baseDir, { recursive: true });
  const adminApiKey = `sk_admin_chaos_${randomBytes(16).toString('hex')}`;
  log(`seed ${seed}; every fault ${times} times; ${ratePerS} operations/s; data and logs in ${baseDir}`);
  let topology: Topology | null = null;
  let workload: Workload | null = null;
  const checks: Check[] = [];
  const faults: FaultResult[] = [];
  // Stopped by a signal (Ctrl-C, a CI timeout): the topology's processes go with it, not left running.
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the topology`);
    void (async () => {
      await workload?.stop().catch(() => undefined);
      await topology?.stop().catch((err) => log(`stop: ${(err as Error).message}`));
      process.exit(signal === 'SIGINT' ? 130 : 143);
    })();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    topology = await startTopology({
      baseDir,
      ports: await freeTopologyPorts(),
      adminApiKey,
      log,
      autoFailover: { checkIntervalMs: 500, failAfterMs: 2_000 },
      appEnv: {
        PROCESSOR_TIMEOUT_MS: '2000',
        // Short human waits, so that the runs the load opens end within the suite.
        REFUND_WINDOW: '20s',
        NOTIFICATION_RETRY_INITIAL_INTERVAL: '500ms',
        NOTIFICATION_RETRY_MAX_INTERVAL: '5s',
        WORKER_SHUTDOWN_GRACE_MS: '5000',
        RATE_LIMIT_DEFAULT: JSON.stringify({ algorithm: 'token_bucket', rate: 1000, period: '1s', burst: 5000 }),
      },
    });
    const t = topology;
    t.pg.onEvent((e) => log(`postgres: ${e.type}${e.detail ? ` (${e.detail})` : ''}`));
    log(`topology up in ${Math.round((Date.now() - started) / 1000)} s: ${t.apiUrl} over ${t.apiUrls.join(', ')}`);

    const fixture = await prepareWorkload({ apiUrl: t.apiUrl, adminKey: adminApiKey });
    workload = startWorkload(fixture, { ratePerS, seed });
    const w = workload;
    await sleep(10_000);

    const pool = createPool(t.databaseUrl, 4);
    const order = schedule(FAULT_KINDS, times, random);
    for (const [i, kind] of order.entries()) {
      await sleep(3_000 + Math.round(random() * 7_000));
      let acknowledged: CommittedTransfer[] = [];
      const injection = await inject(kind, {
        topology: t, random, processorHoldMs: PROCESSOR_HOLD_MS, log,
        beforePrimaryKill: () => { acknowledged = committedTransfers(w.records); },
      });
      const rtoMs = await w.recoveredAfter(injection.atMs, kindsAffectedBy(kind), RECOVERY_WAIT_MS);
      const result: FaultResult = { ...injection, rtoMs };
      if (kind === 'pg_failover') result.lost = (await lostTransfers(pool, fixture.tenantId, acknowledged)).length;
      faults.push(result);
      log(`${i + 1}/${order.length} ${kind}: ${injection.detail}; RTO ${rtoMs === null ? 'none' : `${(rtoMs / 1000).toFixed(1)} s`}${result.lost !== undefined ? `; lost ${result.lost} of ${acknowledged.length} acknowledged transfers` : ''}`);
    }
    await sleep(5_000);
    log('stopping the load; draining');
    await w.stop();
    const pending = await drain(fixture, w.records, { timeoutMs: DRAIN_TIMEOUT_MS });

    const connection = await Connection.connect({ address: t.temporalAddress });
    try {
      const config = loadConfig({ ...process.env, ADMIN_API_KEY: adminApiKey });
      const temporal = new Client({ connection, namespace: t.namespace, dataConverter: dataConverterOf(config) });
      const invariants = await checkInvariants({
        fixture, records: w.records, pool, temporal, processorsUrl: t.processorsUrl, providersUrl: t.providersUrl, unsettled: pending,
      });
      checks.push(...invariants);
    } finally {
      await connection.close();
      await pool.end();
    }

    for (const kind of FAULT_KINDS) {
      const runs = faults.filter((f) => f.kind === kind);
      const worst = Math.max(...runs.map((f) => f.rtoMs ?? Infinity));
      checks.push({
        name: `${kind}: injected ≥ ${times} times, every RTO < ${rtoMaxS} s`,
        ok: runs.length >= times && worst < rtoMaxS * 1000,
        detail: `${runs.length} injections, RTO ${runs.map((f) => (f.rtoMs === null ? 'none' : (f.rtoMs / 1000).toFixed(1))).join(', ')} s`,
      });
    }
    checks.push({
      name: 'no process exited by itself (every exit was an injected fault)',
      ok: t.crashes.length === 0,
      detail: t.crashes.length === 0 ? 'none' : t.crashes.map((c) => `${c.name} (${c.how}) at +${Math.round((c.atMs - started) / 1000)} s`).join(', '),
    });
    const lost = faults.reduce((sum, f) => sum + (f.lost ?? 0), 0);
    checks.push({ name: 'RPO 0: no acknowledged transfer lost across a failover', ok: lost === 0, detail: `${lost} lost` });
  } catch (err) {
    checks.push({ name: 'the suite ran to the end', ok: false, detail: (err as Error).stack ?? String(err) });
  } finally {
    await workload?.stop().catch(() => undefined);
    await topology?.stop().catch((err) => log(`stop: ${(err as Error).message}`));
  }

  for (const c of checks) console.log(`${c.ok ? '✓' : '✗'} ${c.name} — ${c.detail}`);
  const rto = (kind: FaultKind) => faults.filter((f) => f.kind === kind).map((f) => (f.rtoMs === null ? null : Math.round(f.rtoMs) / 1000));
  const failovers = faults.filter((f) => f.kind === 'pg_failover');
  const passed = checks.filter((c) => c.ok).length;
  const failed = checks.length - passed;
  console.log(JSON.stringify({
    bench: 'chaos',
    seed,
    durationS: Math.round((Date.now() - started) / 1000),
    operations: workload?.records.length ?? 0,
    injections: faults.length,
    rpoTransfersLost: faults.reduce((sum, f) => sum + (f.lost ?? 0), 0),
    rtoS: Object.fromEntries(FAULT_KINDS.map((k) => [k, rto(k)])),
    promoteMs: failovers.map((f) => (f.promotedAtMs ?? 0) - f.atMs),
    rebuildMs: failovers.map((f) => (f.rebuiltAtMs ?? 0) - f.atMs),
    rtoUnder60s: faults.length > 0 && faults.every((f) => f.rtoMs !== null && f.rtoMs < rtoMaxS * 1000),
    rpoZero: failovers.length > 0 && failovers.every((f) => f.lost === 0),
    invariantsHold: failed === 0,
  }));
  console.log(`${passed} passed, ${failed} failed`);
  if (failed === 0 && !process.env.CHAOS_KEEP) rmSync(baseDir, { recursive: true, force: true });
  else log(`logs kept in ${baseDir}/logs`);
  return failed === 0 ? 0 : 1;
}

/** The operations a fault can stop; its RTO is the time until each of them succeeded again. */
function kindsAffectedBy(kind: FaultKind): 'all' | 'payments' {
  return kind === 'processor_timeout' ? 'payments' : 'all';
}

process.exit(await main());
