/**
 * A broadcast at the design's scale (issue #20): an in-app + push broadcast to `--subscribers`
 * (100,000), 10 % of them opted out of push, from POST /v1/broadcasts to `completed`, in
 * recipients/s, against a bulk COPY of the same rows measured in the same run; and single in-app
 * notifications/s before and after it (a broadcast must not slow them down).
 *
 *   npm run bench:broadcast -- [--subscribers 100000] [--page-size 0] [--singles 300] [--concurrency 50]
 *                              [--warmup 20] [--timeout 1800]
 *
 * Starts its own in-memory headless Temporal dev server, a fresh database, a fake push provider
 * (simulators/providers, on a free port), the API app in process (`app.request`, no socket) and the
 * notification workers (the real `broadcast` and `notification` workflows and activities) on task
 * queues of their own: it runs beside `npm start`. `--page-size` sets BROADCAST_PAGE_SIZE for the
 * run (0: the config's).
 *   seed       (not timed as the broadcast) through the API: a template (in_app + push), a topic and
 *              its subscribers, 1,000 per POST /v1/topics/:key/subscribers; straight into PostgreSQL
 *              through the store (putContacts, putPreferences — one API call per user would take
 *              minutes and is not what is measured): one push token per subscriber, push off for
 *              every 10th.
 *   singles    `--singles` in-app notifications (the notification row, then the `notification` run,
 *              awaited: bench:notifications' in_app path), `--concurrency` at a time, on another tenant,
 *              before the broadcast and again after it. Target: after ≥ 0.9 × before (noise allowed).
 *   broadcast  POST /v1/broadcasts {channels: [in_app, push]}, then GET every 100 ms until `completed`:
 *              recipients/s = recipients / seconds from the request to `completed`. Target ≥ 1,000/s.
 *   copy       the same rows the broadcast wrote (its outcomes, two per recipient, and its in-app
 *              messages) loaded with one COPY FROM STDIN per table (store/copy.ts, true COPY without
 *              a dependency) into the same tables, for another broadcast row, in one transaction:
 *              recipients/s of the floor. Target: broadcast ≥ 0.2 × COPY.
 *   verify     counts add up (sent + failed + skipped = recipients × channels), one outcome per
 *              recipient and channel, one inbox message per in-app recipient, push skipped_opt_out
 *              exactly the opted-out 10 %. A mismatch fails the bench (exit code 1).
 * Everything it started is stopped, closed, deleted or dropped before it exits (also on SIGINT/SIGTERM).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { createTenant } from '../api/admin/tenants.js';
import { createApp } from '../api/app.js';
import { newId } from '../domain/ids.js';
import { planRecipient, type BroadcastChannel } from '../domain/notifications/broadcast.js';
import { renderContent } from '../domain/notifications/render.js';
import { notificationRetry } from '../platform/notification-settings.js';
import { redisUrlOf } from '../platform/redis-mode.js';
import { createPool, withTransaction } from '../store/db.js';
import {
  broadcastWriteCounts, cancelBroadcast, copyPageRows, insertBroadcast, type PageWrite,
} from '../store/notifications/broadcasts.js';
import { putContacts } from '../store/notifications/contacts.js';
import { countInboxMessages } from '../store/notifications/inbox.js';
import { createNotification } from '../store/notifications/notifications.js';
import { putPreferences } from '../store/notifications/preferences.js';
import { createTemplate } from '../store/notifications/templates.js';
import { insertTenant } from '../store/tenants/tenants.js';
import { startProvidersServer, type ProvidersServer } from '../simulators/providers/server.js';
import { workflowContracts, workflowIdOf } from '../workflows/contracts.js';
import type { NotificationInput } from '../workflows/notifications/types.js';
import { createWorkers, type StartedWorkers } from '../workers/registry.js';
import {
  abortOnSignals, atLeastKey, deleteKeys, endPool, fmt, parseBody, parseIntArgs, percentile, phaseStopper, printTable, report,
  runBenchmark, type BatchResult,
} from './common.js';
import { forEachBounded, runConcurrently, startBenchStack, type BenchStack } from './stack.js';

// No shutdown signals for the SDK: the first SIGINT/SIGTERM aborts the run (abortOnSignals).
Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });

const TARGET_RECIPIENTS_PER_S = 1_000;
const TARGET_COPY_RATIO = 0.2;
/** Singles after the broadcast at least this share of before: "not slower", with room for noise. */
const TARGET_SINGLES_RATIO = 0.9;
const OPT_OUT_EVERY = 10;
const SUBSCRIBE_BATCH = 1_000;
const SEED_CONCURRENCY = 16;
const POLL_MS = 100;
const TOPIC = 'bench-news';
const TEMPLATE_ID = 'bench-launch';
const TEMPLATE = { in_app: { title: 'Launch', body: 'Hello {{name}}, we are live.' }, push: { title: 'Launch', body: 'Hi {{name}}' } };
const DATA = { name: 'there' };
const CHANNELS: BroadcastChannel[] = ['in_app', 'push'];

const { ints: args } = parseIntArgs({
  subscribers: { default: 100_000, min: 10, max: 1_000_000 },
  'page-size': { default: 0, min: 0, max: 5_000 },
  singles: { default: 300, min: 1, max: 100_000 },
  concurrency: { default: 50, min: 1, max: 1_000 },
  warmup: { default: 20, min: 0, max: 10_000 },
  timeout: { default: 1_800, min: 30, max: 7_200 },
});

const abort = abortOnSignals();

// @temporalio/proto is CommonJS: Node's ESM loader only sees its default export.
const EventType = proto.temporal.api.enums.v1.EventType;

const userOf = (i: number) => `user_${String(i).padStart(7, '0')}`;
const optedOut = (i: number) => i % OPT_OUT_EVERY === 0;

interface BroadcastBody {
  id?: string;
  status?: string;
  recipients?: number;
  counts?: { sent: number; failed: number; skipped_opt_out: number; skipped_no_contact: number };
  error?: { code?: string; message?: string };
}

type Api = <T = BroadcastBody>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: T | null }>;

function apiOf(app: ReturnType<typeof createApp>, apiKey: string): Api {
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  return async (method, path, body) => {
    const res = await app.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: parseBody(await res.text()) };
  };
}

/** The broadcast's audience: template and topic and subscribers through the API, tokens and preferences through the store. */
async function seedAudience(pool: pg.Pool, api: Api, tenantId: string, signal: AbortSignal): Promise<{ subscribeS: number; contactsS: number }> {
  const must = async (what: string, got: Promise<{ status: number; body: unknown }>, status: number) => {
    const answer = await got;
    if (answer.status !== status) throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  };
  await must('template', api('POST', '/v1/notification-templates', { id: TEMPLATE_ID, channels: TEMPLATE }), 201);
  await must('topic', api('POST', '/v1/topics', { key: TOPIC, name: 'Bench news' }), 201);
  const t0 = performance.now();
  for (let first = 0; first < args.subscribers && !signal.aborted; first += SUBSCRIBE_BATCH) {
    const userIds = Array.from({ length: Math.min(SUBSCRIBE_BATCH, args.subscribers - first) }, (_, k) => userOf(first + k));
    await must('subscribe', api('POST', `/v1/topics/${TOPIC}/subscribers`, { user_ids: userIds }), 200);
  }
  const subscribeS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await forEachBounded(args.subscribers, SEED_CONCURRENCY, signal, async (i) => {
    await putContacts(pool, tenantId, userOf(i), { push_tokens: [`tok_${i}_${tenantId}`] });
    if (optedOut(i)) await putPreferences(pool, tenantId, userOf(i), { push: false });
  });
  return { subscribeS, contactsS: (performance.now() - t1) / 1000 };
}

/** Single in-app notifications end to end (bench:notifications' in_app path), on their own tenant. */
function singles(stack: BenchStack, tenantId: string) {
  const { config, pool, client } = stack;
  const queue = config.TASK_QUEUE_NOTIFICATIONS;
  const runOne = async (i: number) => {
    const { notification } = await withTransaction(pool, (c) => createNotification(c, {
      tenantId, userId: `single_${i % 100}`, templateId: 'single', data: { code: String(i) },
      channels: ['in_app'], priority: 'normal', critical: false, scheduledAt: null,
    }));
    const input: NotificationInput = {
      tenantId, notificationId: notification.id, priority: 'normal', critical: false, scheduledAt: null, channels: ['in_app'],
      retry: notificationRetry(config), deliveryQueuePrefix: queue,
    };
    const result = await client.workflow.execute('notification', { taskQueue: queue, workflowId: `notification-${notification.id}`, args: [input] });
    if ((result as { status: string }).status !== 'completed') return 'not_completed';
  };
  return (count: number): Promise<BatchResult<'in_app'>> =>
    runConcurrently('in_app', count, args.concurrency, abort.signal, args.timeout * 1000, (i) => runOne(i));
}

const perS = (r: BatchResult<string>) => r.succeeded / r.elapsedS;
const failedOf = (r: BatchResult<string>) => [...r.failed.values()].reduce((s, n) => s + n, 0);

/** POST /v1/broadcasts, then GET every POLL_MS until it is no longer queued or sending. */
async function runBroadcast(api: Api, signal: AbortSignal): Promise<{ final: BroadcastBody; seconds: number }> {
  const t0 = performance.now();
  const created = await api('POST', '/v1/broadcasts', { topic_key: TOPIC, template_id: TEMPLATE_ID, data: DATA, channels: CHANNELS });
  if (created.status !== 202 || !created.body?.id) throw new Error(`create broadcast: HTTP ${created.status} ${JSON.stringify(created.body)}`);
  for (;;) {
    const got = await api('GET', `/v1/broadcasts/${created.body.id}`);
    if (got.status !== 200 || !got.body) throw new Error(`GET broadcast: HTTP ${got.status} ${JSON.stringify(got.body)}`);
    if (!['queued', 'sending'].includes(got.body.status ?? '') || signal.aborted) return { final: got.body, seconds: (performance.now() - t0) / 1000 };
    await sleep(POLL_MS);
  }
}

/** The broadcast's page activities from its history: how many, how long each ran, how long each waited. */
async function pageProfile(client: Client, broadcastId: string) {
  const history = await client.workflow.getHandle(workflowIdOf(workflowContracts.broadcast, broadcastId)).fetchHistory();
  const scheduled = new Map<string, { page: boolean; atMs: number; startedMs?: number }>();
  const runMs: number[] = [];
  const queuedMs: number[] = [];
  for (const e of history.events ?? []) {
    const atMs = tsToMs(e.eventTime);
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      scheduled.set(String(e.eventId), { page: e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendBroadcastPage', atMs });
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const s = scheduled.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId));
      if (s) s.startedMs = atMs;
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const s = scheduled.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId));
      if (!s?.page) continue;
      runMs.push(atMs - (s.startedMs ?? s.atMs));
      queuedMs.push((s.startedMs ?? s.atMs) - s.atMs);
    }
  }
  runMs.sort((a, b) => a - b);
  queuedMs.sort((a, b) => a - b);
  return { pages: runMs.length, runS: runMs.reduce((s, x) => s + x, 0) / 1000, runP50Ms: percentile(runMs, 50), queuedP50Ms: percentile(queuedMs, 50) };
}

/** The same rows the broadcast wrote (its planRecipient rules, its rendered in-app message), by COPY, for another broadcast row. */
async function copyFloor(pool: pg.Pool, tenantId: string): Promise<{ seconds: number; rows: number }> {
  const twin = await insertBroadcast(pool, { tenantId, topicKey: TOPIC, templateId: TEMPLATE_ID, data: DATA, channels: CHANNELS, priority: 'normal', scheduledAt: null });
  const inApp = renderContent(TEMPLATE, 'in_app', DATA);
  if (inApp.channel !== 'in_app') throw new Error('in_app content expected');
  const rows: Pick<PageWrite, 'deliveries' | 'inbox'> = { deliveries: [], inbox: [] };
  for (let i = 0; i < args.subscribers; i++) {
    const userId = userOf(i);
    for (const c of planRecipient({ userId, preferences: { push: optedOut(i) ? false : null }, pushTokens: [`tok_${i}`] }, CHANNELS)) {
      const sent = c.action === 'send';
      // A sent push keeps the provider's message id (for receipts), as the broadcast's rows do.
      const providerMessageId = sent && c.channel === 'push' ? `projects/steadfast-sim/messages/${randomUUID()}` : null;
      rows.deliveries.push({ userId, channel: c.channel, status: sent ? 'sent' : c.action, error: null, providerMessageId });
    }
    rows.inbox.push({ userId, title: inApp.title, body: inApp.body });
  }
  const t0 = performance.now();
  const loaded = await withTransaction(pool, (client) => copyPageRows(client, tenantId, twin.id, rows));
  const seconds = (performance.now() - t0) / 1000;
  await cancelBroadcast(pool, tenantId, twin.id);
  if (loaded.deliveries !== rows.deliveries.length || loaded.inbox !== rows.inbox.length) throw new Error(`COPY loaded ${JSON.stringify(loaded)}`);
  return { seconds, rows: loaded.deliveries + loaded.inbox };
}

/** The checks of a completed broadcast (each true when it holds). */
async function verify(pool: pg.Pool, tenantId: string, final: BroadcastBody) {
  const n = args.subscribers;
  const optedOutCount = Math.ceil(n / OPT_OUT_EVERY);
  const written = await broadcastWriteCounts(pool, final.id!);
  const c = final.counts ?? { sent: -1, failed: -1, skipped_opt_out: -1, skipped_no_contact: -1 };
  const sum = (o: Record<string, number | undefined>) => Object.values(o).reduce<number>((s, x) => s + (x ?? 0), 0);
  return {
    checks: {
      completed: final.status === 'completed' && final.recipients === n,
      countsAddUp: c.sent + c.failed + c.skipped_opt_out + c.skipped_no_contact === n * CHANNELS.length,
      oneOutcomePerRecipientAndChannel: sum(written.deliveries.in_app) === n && sum(written.deliveries.push) === n,
      inAppAllSent: written.deliveries.in_app.sent === n,
      oneInboxMessagePerInAppRecipient: written.inboxMessages === n && written.inboxUsers === n && await countInboxMessages(pool, tenantId) === n,
      pushOptOutExact: written.deliveries.push.skipped_opt_out === optedOutCount && written.deliveries.push.sent === n - optedOutCount,
      countsMatchRows: c.sent === (written.deliveries.in_app.sent ?? 0) + (written.deliveries.push.sent ?? 0) && c.skipped_opt_out === optedOutCount,
    },
    written,
  };
}

async function main(): Promise<void> {
  const runSignal = AbortSignal.any([abort.signal, AbortSignal.timeout(args.timeout * 1000)]);
  const stopped = phaseStopper(runSignal, abort, args.timeout);
  let providers: ProvidersServer | undefined;
  let stack: BenchStack | undefined;
  let apiPool: pg.Pool | undefined;
  let redis: Redis | undefined;
  let started: StartedWorkers | undefined;
  let running: Promise<unknown> | undefined;
  let tenantId: string | undefined;
  const loadAtStart = loadavg();
  try {
    providers = await startProvidersServer({ port: 0 });
    stack = await startBenchStack('broadcast', {
      ownProcessGroup: true,
      env: {
        TASK_QUEUE_NOTIFICATIONS: `bench-notifications-${process.pid}`,
        ADMIN_API_KEY: `sk_admin_bench_${randomBytes(16).toString('hex')}`,
        PUSH_PROVIDER_URL: `${providers.url}/push`,
        ...(args['page-size'] > 0 ? { BROADCAST_PAGE_SIZE: String(args['page-size']) } : {}),
      },
    });
    const { config, pool, client } = stack;
    console.log(`[bench] broadcast: ${args.subscribers} subscribers (in_app + push, every ${OPT_OUT_EVERY}th opted out of push), BROADCAST_PAGE_SIZE=${config.BROADCAST_PAGE_SIZE} PUSH_BATCH_SIZE=${config.PUSH_BATCH_SIZE}; singles ${args.singles} × ${args.concurrency} at a time; load average at start ${loadAtStart.map((l) => fmt(l, 2)).join(' ')}`);

    started = await createWorkers({ config, connection: stack.workerConnection, pool, workflowBundlePath: stack.bundlePath }, ['notifications']);
    running = Promise.all(started.workers.map((w) => w.run())).catch((err: unknown) => {
      console.error('[bench] worker failed:', err);
      abort.abort();
    });
    apiPool = createPool(stack.databaseUrl, config.DB_POOL_MAX);
    redis = new Redis(redisUrlOf(config), { commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1 });
    redis.on('error', (err: Error) => console.error(`[bench] redis: ${err.message}`));
    const app = createApp({ config, adminApiKey: config.ADMIN_API_KEY!, pool: apiPool, redis, temporal: client });

    const tenant = await createTenant(pool, 'Broadcast bench');
    tenantId = tenant.id;
    const api = apiOf(app, tenant.apiKey);
    const seeded = await seedAudience(pool, api, tenant.id, runSignal);
    console.log(`[bench] seeded: subscribed ${args.subscribers} through the API in ${fmt(seeded.subscribeS, 1)} s; tokens and push opt-outs through the store in ${fmt(seeded.contactsS, 1)} s`);
    report({ figures: { subscribers: args.subscribers, pageSize: config.BROADCAST_PAGE_SIZE, subscribeS: seeded.subscribeS } });
    if (stopped()) return;
    const singleTenant = newId('tenant');
    await insertTenant(pool, { id: singleTenant, name: 'Singles bench' });
    await createTemplate(pool, singleTenant, 'single', { in_app: { title: 'Hello', body: 'Your code is {{code}}.' } });
    await pool.query('ANALYZE');
    const single = singles(stack, singleTenant);
    if (args.warmup > 0) await single(args.warmup);

    console.log(`[bench] singles before: ${args.singles} in-app notifications …`);
    const before = await single(args.singles);
    report({ figures: { singlesBeforePerS: perS(before), singlesBeforeFailed: failedOf(before) } });
    if (stopped()) return;

    console.log('[bench] broadcast: POST /v1/broadcasts and waiting for completed …');
    const { final, seconds } = await runBroadcast(api, runSignal);
    const recipientsPerS = (final.recipients ?? 0) / seconds;
    report({ figures: { broadcastS: seconds, recipients: final.recipients ?? 0, recipientsPerS } });
    if (stopped()) return;
    if (final.status !== 'completed') throw new Error(`the broadcast is ${final.status}, not completed`);
    const profile = await pageProfile(client, final.id!);
    report({ figures: { pages: profile.pages, pageRunP50Ms: profile.runP50Ms, pageQueuedP50Ms: profile.queuedP50Ms } });

    console.log(`[bench] singles after: ${args.singles} in-app notifications …`);
    const after = await single(args.singles);
    const singlesRatio = perS(after) / perS(before);
    report({ figures: { singlesAfterPerS: perS(after), singlesAfterFailed: failedOf(after), singlesRatio } });
    if (stopped()) return;

    const { checks, written } = await verify(pool, tenant.id, final);
    console.log('[bench] copy: the same rows by COPY FROM STDIN …');
    const copy = await copyFloor(pool, tenant.id);
    const copyRecipientsPerS = args.subscribers / copy.seconds;
    const copyRatio = recipientsPerS / copyRecipientsPerS;
    const allChecks = Object.values(checks).every(Boolean);
    report({
      figures: { copyS: copy.seconds, copyRowsPerS: copy.rows / copy.seconds, copyRecipientsPerS, copyRatio, loadAvg1End: loadavg()[0]! },
      targets: {
        [atLeastKey('recipientsPerS', TARGET_RECIPIENTS_PER_S)]: recipientsPerS >= TARGET_RECIPIENTS_PER_S,
        [atLeastKey('copyRatio', TARGET_COPY_RATIO)]: copyRatio >= TARGET_COPY_RATIO,
        [atLeastKey('singlesRatio', TARGET_SINGLES_RATIO)]: singlesRatio >= TARGET_SINGLES_RATIO && failedOf(after) === 0,
        exactCounts: allChecks,
      },
    });

    console.log('');
    printTable(
      ['phase', 'count', 'seconds', 'per second', 'p50 ms', 'p95 ms', 'failed'],
      [
        ['single in-app notifications, before', String(before.succeeded), fmt(before.elapsedS, 2), fmt(perS(before)), fmt(percentile(before.latenciesMs, 50), 1), fmt(percentile(before.latenciesMs, 95), 1), String(failedOf(before))],
        [`broadcast (in_app + push), request → completed`, String(final.recipients), fmt(seconds, 2), fmt(recipientsPerS), '', '', String(final.counts?.failed ?? '?')],
        ['  the same rows by COPY (deliveries + inbox)', String(args.subscribers), fmt(copy.seconds, 2), fmt(copyRecipientsPerS), '', '', ''],
        ['single in-app notifications, after', String(after.succeeded), fmt(after.elapsedS, 2), fmt(perS(after)), fmt(percentile(after.latenciesMs, 50), 1), fmt(percentile(after.latenciesMs, 95), 1), String(failedOf(after))],
      ],
    );
    console.log('');
    console.log(`pages: ${profile.pages} sendBroadcastPage activities, ${fmt(profile.runS, 2)} s of page work in ${fmt(seconds, 2)} s; a page ran ${fmt(profile.runP50Ms, 1)} ms (p50) and waited ${fmt(profile.queuedP50Ms, 1)} ms for its worker (p50)`);
    console.log(`COPY: ${copy.rows} rows (${args.subscribers * CHANNELS.length} outcomes + ${args.subscribers} inbox messages) in ${fmt(copy.seconds, 2)} s, ${fmt(copy.rows / copy.seconds, 0)} rows/s (true COPY FROM STDIN)`);
    console.log(`targets: recipients/s >= ${TARGET_RECIPIENTS_PER_S} -> ${fmt(recipientsPerS, 0)}; >= ${TARGET_COPY_RATIO} x COPY -> ${fmt(copyRatio, 3)}; singles after >= ${TARGET_SINGLES_RATIO} x before -> ${fmt(singlesRatio, 2)}`);
    console.log(`counts: ${JSON.stringify(final.counts)}; rows ${JSON.stringify(written)}`);
    console.log(`checks: ${Object.entries(checks).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    if (!allChecks) throw new Error('the broadcast does not check out (see checks above)');
  } finally {
    if (started) for (const w of started.workers) if (w.getState() === 'RUNNING') w.shutdown();
    await running;
    await started?.close();
    let redisKeysDeleted = 0;
    if (redis) {
      if (tenantId) redisKeysDeleted = await deleteKeys(redis, `*${tenantId}*`).catch(() => 0);
      await redis.quit().catch(() => redis?.disconnect());
    }
    if (apiPool) await endPool(apiPool);
    await stack?.close();
    await providers?.close();
    console.log(`[bench] workers stopped, connections closed, ${redisKeysDeleted} Redis key(s) deleted, provider and dev server stopped, database dropped`);
  }
}

runBenchmark('broadcast', main, abort);
