/**
 * In-app notifications per second end to end against a no-op workflow with the same activities,
 * and the outbox relay's events per second.
 *
 *   npm run bench:notifications -- [--count 300] [--concurrency 50] [--warmup 20] [--events 1000] [--timeout 300]
 *
 * Starts its own Temporal dev server, database and workers (bench/stack.ts). Each batch runs
 * `--count` runs, `--concurrency` at a time, each started with the Temporal client and awaited:
 *   noop    `noopNotification`: the shape of an in-app `notification` since 0.2.0 (the patch
 *           marker, one no-op local step, one `BusinessStatus` upsert): Temporal's own cost
 *   in_app  the notification row and its delivery (one transaction, as the API writes them), then
 *           `notification`: one local step plans it (preferences, contacts, template rendering),
 *           stores the in-app message with the delivery's `sent` and completes the notification,
 *           all in one transaction; one workflow task, one upsert
 *   relay   `--events` outbox rows, then one relay drains them: claim a batch (SKIP LOCKED), start
 *           `event-<evt_id>` for each, mark them; events/s until all are marked (the event runs
 *           themselves are not awaited).
 */
import { Worker } from '@temporalio/worker';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { performance } from 'node:perf_hooks';
import { newId } from '../domain/ids.js';
import { withTransaction } from '../store/db.js';
import { countInboxMessages } from '../store/notifications/inbox.js';
import { createNotification } from '../store/notifications/notifications.js';
import { createTemplate } from '../store/notifications/templates.js';
import { appendOutboxEvent, countUnrelayedEvents } from '../store/outbox/outbox.js';
import { insertTenant } from '../store/tenants/tenants.js';
import { eventWorkflowSettings, notificationRetry } from '../platform/notification-settings.js';
import { createWorkers } from '../workers/registry.js';
import { dataConverterOf } from '../platform/payload-codec.js';
import { startOutboxRelay, type OutboxRelay } from '../workers/outbox-relay.js';
import type { NotificationInput } from '../workflows/notifications/types.js';
import { abortOnSignals, atLeastKey, fmt, parseIntArgs, percentile, printTable, report, runBenchmark, type BatchResult } from './common.js';
import { noopNotification, noopNotificationActivities } from './noop-workflows.js';
import { runConcurrently, startBenchStack, type BenchStack } from './stack.js';
import { cpuFigures, measureIdleCpu, printCpuTable, withCpuMeter, type CpuSources } from './cpu.js';

Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });

/** Issue #14's target: in-app notifications completed per second, end to end. */
const IN_APP_TARGET_PER_S = 100;
const TARGET_RATIO = 0.5;
const { ints: args } = parseIntArgs({
  count: { default: 300, min: 1, max: 100_000 },
  concurrency: { default: 50, min: 1, max: 1_000 },
  warmup: { default: 20, min: 0, max: 10_000 },
  events: { default: 1_000, min: 1, max: 100_000 },
  timeout: { default: 300, min: 10, max: 3_600 },
});
const abort = abortOnSignals();

type Kind = 'noop' | 'in_app';

/** A measured batch's figures for the report: `noopPerS`, `inAppP95Ms`, … */
const batchFigures = (name: 'noop' | 'inApp', r: BatchResult<Kind>) => ({
  [`${name}PerS`]: r.succeeded / r.elapsedS,
  [`${name}P50Ms`]: percentile(r.latenciesMs, 50),
  [`${name}P95Ms`]: percentile(r.latenciesMs, 95),
  [`${name}Failed`]: [...r.failed.values()].reduce((s, n) => s + n, 0),
});

async function main(): Promise<void> {
  let stack: BenchStack | undefined;
  let workers: Worker[] = [];
  let closeWorkers: () => Promise<void> = async () => undefined;
  let running: Promise<unknown> | undefined;
  let relay: OutboxRelay | undefined;
  try {
    stack = await startBenchStack('notifications');
    const { config, pool, client } = stack;
    const queue = `bench-notifications-${process.pid}`;
    const tenantId = newId('tenant');
    await insertTenant(pool, { id: tenantId, name: 'Bench' });
    await createTemplate(pool, tenantId, 'bench', { in_app: { title: 'Hello {{name}}', body: 'Your code is {{code}}.' } });

    const limits = {
      maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      shutdownGraceTimeMs: config.WORKER_SHUTDOWN_GRACE_MS,
    };
    const common = { connection: stack.workerConnection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(config) };
    const notificationWorkers = await createWorkers({
      config: { ...config, TASK_QUEUE_NOTIFICATIONS: queue }, connection: stack.workerConnection, pool,
      workflowBundlePath: stack.bundlePath, limits,
    }, ['notifications']);
    closeWorkers = notificationWorkers.close;
    workers = [
      ...notificationWorkers.workers,
      await Worker.create({ ...common, taskQueue: `${queue}-noop`, workflowBundle: { codePath: stack.bundlePath }, activities: noopNotificationActivities,
        maxConcurrentActivityTaskExecutions: limits.maxConcurrentActivityTaskExecutions, maxConcurrentWorkflowTaskExecutions: limits.maxConcurrentWorkflowTaskExecutions }),
    ];
    running = Promise.all(workers.map((w) => w.run()));

    const runOne = async (kind: Kind, label: string, i: number) => {
      if (kind === 'noop') {
        await client.workflow.execute(noopNotification, {
          taskQueue: `${queue}-noop`, workflowId: `noop-notification-${process.pid}-${label}-${i}`,
          args: [{ notificationId: `noop_${i}` }],
        });
        return;
      }
      const { notification } = await withTransaction(pool, (c) => createNotification(c, {
        tenantId, userId: `user_${i % 100}`, templateId: 'bench', data: { name: 'Ada', code: String(i) },
        channels: ['in_app'], priority: 'normal', critical: false, scheduledAt: null,
      }));
      const input: NotificationInput = {
        tenantId, notificationId: notification.id, priority: 'normal', critical: false, scheduledAt: null, channels: ['in_app'],
        retry: notificationRetry(config), deliveryQueuePrefix: queue,
      };
      const result = await client.workflow.execute('notification', { taskQueue: queue, workflowId: `notification-${notification.id}`, args: [input] });
      if ((result as { status: string }).status !== 'completed') throw new Error('not completed');
    };
    const batch = (kind: Kind, label: string, count: number) =>
      runConcurrently(kind, count, args.concurrency, abort.signal, args.timeout * 1000, (i) => runOne(kind, label, i));

    if (args.warmup > 0) {
      console.log('[bench] warm-up …');
      await batch('noop', 'warmup', args.warmup);
      await batch('in_app', 'warmup', args.warmup);
    }
    console.log(`[bench] noopNotification × ${args.count}, then notification (in_app) × ${args.count}, ${args.concurrency} at a time …`);
    const cpuSources: CpuSources = { databaseUrl: stack.databaseUrl, serverPid: stack.server.process.pid };
    const idle = await measureIdleCpu(cpuSources);
    report({ figures: { idleCpuCores: idle.totalMs / idle.wallMs } });
    const { value: noop, cpu: noopCpu } = await withCpuMeter(cpuSources, () => batch('noop', 'run', args.count));
    report({ figures: { ...batchFigures('noop', noop), ...cpuFigures('noop', noopCpu, noop.succeeded) } });
    const { value: inApp, cpu: inAppCpu } = await withCpuMeter(cpuSources, () => batch('in_app', 'run', args.count));
    // Issue #14: at least 100 in-app notifications a second end to end.
    report({
      figures: { ...batchFigures('inApp', inApp), ...cpuFigures('inApp', inAppCpu, inApp.succeeded) },
      targets: { [atLeastKey('inAppPerS', IN_APP_TARGET_PER_S)]: inApp.succeeded / inApp.elapsedS >= IN_APP_TARGET_PER_S },
    });
    if (abort.signal.aborted) return;

    console.log(`[bench] relay: ${args.events} outbox events …`);
    await withTransaction(pool, async (c) => {
      for (let i = 0; i < args.events; i++) {
        await appendOutboxEvent(c, { tenantId, topic: 'payment.failed', idempotencyKey: `bench-${i}`, payload: { payment_id: `pay_${i}`, amount: 1, currency: 'USD' } });
      }
    });
    const t0 = performance.now();
    relay = await startOutboxRelay({
      pool, databaseUrl: stack.databaseUrl, temporal: client, batchSize: config.OUTBOX_BATCH_SIZE, pollIntervalMs: config.OUTBOX_POLL_INTERVAL,
      taskQueue: queue, eventInput: { ...eventWorkflowSettings(config), deliveryQueuePrefix: queue, notificationTaskQueue: queue }, tenantIds: [tenantId],
    });
    for (;;) {
      if (await countUnrelayedEvents(pool) === 0 || abort.signal.aborted) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const relaySeconds = (performance.now() - t0) / 1000;
    report({ figures: { relayEventsPerS: args.events / relaySeconds } });

    console.log('');
    printTable(['workflow', 'count', 'ok', 'failed', 'seconds', 'completed/s', 'p50 ms', 'p95 ms'], [noop, inApp].map((r: BatchResult<Kind>) => [
      r.kind === 'noop' ? 'noopNotification (1 no-op local step)' : 'notification (in_app, end to end)', String(r.count), String(r.succeeded),
      r.failed.size === 0 ? '0' : [...r.failed].map(([k, n]) => `${k}:${n}`).join(','), fmt(r.elapsedS, 2),
      fmt(r.succeeded / r.elapsedS), fmt(percentile(r.latenciesMs, 50), 0), fmt(percentile(r.latenciesMs, 95), 0),
    ]));
    const ratio = (inApp.succeeded / inApp.elapsedS) / (noop.succeeded / noop.elapsedS);
    console.log('');
    const met = ratio >= TARGET_RATIO;
    report({ figures: { ratio }, targets: { [atLeastKey('ratio', TARGET_RATIO)]: met } });
    console.log(`ratio in_app / noop: ${fmt(ratio, 2)} (target >= ${TARGET_RATIO}: ${met ? 'MET' : 'NOT MET'})`);
    printCpuTable([
      { label: 'idle (per s)', cpu: idle, completed: idle.wallMs / 1000 },
      { label: 'noopNotification', cpu: noopCpu, completed: noop.succeeded },
      { label: 'notification (in_app)', cpu: inAppCpu, completed: inApp.succeeded },
    ]);
    console.log(`outbox relay: ${args.events} events claimed, started and marked in ${fmt(relaySeconds, 2)} s = ${fmt(args.events / relaySeconds, 0)} events/s (batch ${config.OUTBOX_BATCH_SIZE})`);
    console.log(`inbox messages written: ${await countInboxMessages(pool, tenantId)} (expected ${args.warmup + args.count})`);
  } finally {
    await relay?.stop();
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await running?.catch(() => undefined);
    await closeWorkers();
    await stack?.close();
    console.log('[bench] workers stopped, connections closed, dev server stopped, database dropped');
  }
}

runBenchmark('notifications', main, abort);
