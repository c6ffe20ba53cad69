import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { createTenant } from '../../api/admin/tenants.js';
import { createApp } from '../../api/app.js';
import { mintActorToken } from '../../api/middleware/actor.js';
import { endPool, withDatabase } from '../../bench/common.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { redisUrlOf } from '../../platform/redis-mode.js';
import { dataConverterOf } from '../../platform/payload-codec.js';
import { RELEASE } from '../../platform/release.js';
import { clientConnectionOptions, workerConnectionOptions } from '../../platform/temporal-connection.js';
import { ensureTemporalCli, freePort, REPO_ROOT, startDevServer } from '../../platform/temporal-dev-server.js';
import { setCurrentVersion, versionKey, type DeploymentVersion } from '../../platform/worker-deployment.js';
import { startProcessorsServer } from '../../simulators/processors/server.js';
import { createPool } from '../../store/db.js';
import { auditLedger } from '../../store/ledger/audit.js';
import { dropDatabase, ensureDatabase, migrateUp } from '../../store/migrate.js';
import { createWorkers } from '../../workers/registry.js';
import { CUSTOM_SEARCH_ATTRIBUTES, WorkerDeploymentVersion } from '../../workflows/search-attributes.js';
import { applyChange, NEXT_RELEASE, type NextReleaseChange, type Variant } from './next-release.js';

/**
 * The upgrade drill (`npm run drill:upgrade`, README "The upgrade drill"): on a stack of its own
 * (dev server, database and processor simulator on free ports; the API in process; the shared
 * Redis), it opens a run of every long-lived workflow on release N, deploys release N+1 (today's
 * code with the changes of scripts/drill/next-release.ts, guarded by `patched()`) as a new Worker
 * Deployment Version, makes it current and stops N's workers. Then every old run must finish
 * correctly on N+1 through the old path, a new run must take the new path, and the same changes
 * unguarded must fail the old runs' replay (DeterminismViolationError). One line per workflow,
 * then `N passed, M failed`; exit 1 on any failure.
 */

const EventType = proto.temporal.api.enums.v1.EventType;
type History = proto.temporal.api.history.v1.IHistory;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

const ADMIN_KEY = `sk_admin_drill_${process.pid}_0123456789abcdef`;
/** A captured payment's saga stays open this long (REFUND_WINDOW): the drill waits it out. */
const REFUND_WINDOW = '8s';
/** The new leave run's reminder comes at half of it; the old run is approved long before it. */
const LEAVE_ESCALATION_AFTER = '60s';
/**
 * How long the old notification's quiet hours last at least: it must still wait once N+1 is current
 * (making a second version current takes 10–30 s on the dev server with every domain's task queues).
 */
const OLD_QUIET_MS = 75_000;
const NEW_QUIET_MS = 10_000;
/** Every wait of the drill gives up after this. */
const WAIT_MS = 120_000;
/** An approved leave waits until its first day (cancellable): these start in the past, so the run ends on approval. */
const LEAVE_YEAR = 2024;
const LEAVE_DATES = { old: ['2024-03-04', '2024-03-05'], new: ['2024-03-11', '2024-03-12'] } as const;

type Kind = 'old' | 'new';

/**
 * A version registers each task queue (every partition, workflow and activity) with its deployment
 * through Updates of one system workflow. Every dev server we start already raises the in-flight
 * Update limit and the hand-off poll rates (platform/temporal-dev-server.ts); one partition per
 * queue on top makes the registrations, and so set-current, shorter here.
 */
const DEV_SERVER_CONFIG = {
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

// ── Small helpers ─────────────────────────────────────────────────────────────────────────────

class DrillFailure extends Error {
  override name = 'DrillFailure';
}
const fail = (message: string): never => {
  throw new DrillFailure(message);
};

/** Polls `fn` until it returns a value other than undefined, or fails naming `what`. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Like `result()`, with a deadline. */
async function resultOf<T>(client: Client, handle: WorkflowHandle, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    return await client.withAbortSignal(deadline, () => handle.result() as Promise<T>);
  } catch (err) {
    if (deadline.aborted) fail(`${handle.workflowId} did not end within ${timeoutMs / 1000} s`);
    throw err;
  }
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const clock = (iso: string) => iso.slice(11, 19);

/** Quiet hours (UTC, minute resolution) around now that end at least `minMs` from now. */
function quietHoursFor(minMs: number) {
  const now = Date.now();
  const end = Math.ceil((now + minMs) / 60_000) * 60_000;
  return { start: hhmm(Math.floor(now / 60_000) * 60_000 - 60_000), end: hhmm(end), time_zone: 'UTC' };
}

const eventsOf = (history: History) => history.events ?? [];
const eventType = (e: HistoryEvent) => e.eventType ?? EventType.EVENT_TYPE_UNSPECIFIED;

/** The patch ids of a history's `patched()` markers. */
function patchMarkers(history: History): string[] {
  return eventsOf(history).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (eventType(e) !== EventType.EVENT_TYPE_MARKER_RECORDED || marker?.markerName !== 'core_patch') return [];
    const data = marker.details?.['patch-data']?.payloads?.[0];
    const id = data ? (defaultPayloadConverter.fromPayload(data) as { id?: string }).id : undefined;
    return id ? [id] : [];
  });
}

/** Every BusinessStatus a run upserted, in order. */
function upsertedStatuses(history: History): string[] {
  return eventsOf(history).flatMap((e) => {
    const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.BusinessStatus;
    return field ? [defaultPayloadConverter.fromPayload(field) as string] : [];
  });
}

const hasTimerStarted = (history: History) => eventsOf(history).some((e) => eventType(e) === EventType.EVENT_TYPE_TIMER_STARTED);
const failedTasks = (history: History) => eventsOf(history).filter((e) => eventType(e) === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED).length;

// ── The stack ────────────────────────────────────────────────────────────────────────────────

type ApiResponse = { status: number; body: Record<string, unknown> };
type Call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse>;

function caller(app: ReturnType<typeof createApp>, key: string): Call {
  return async (method, path, body, extra = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await app.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

/** Calls and insists on `status`; the body. */
async function expectCall(call: Call, status: number, method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const res = await call(method, path, body, headers);
  if (res.status !== status) fail(`${method} ${path} answered ${res.status} (expected ${status}): ${JSON.stringify(res.body)}`);
  return res.body;
}

interface Stack {
  config: Config;
  pool: pg.Pool;
  client: Client;
  call: Call;
  bundles: Record<'current' | 'next' | 'unguarded', string>;
  startVersion(buildId: string, bundle: string): Promise<{ stop(): Promise<void> }>;
}

type Closer = { name: string; close: () => Promise<unknown> | unknown };

/** The drill's workflow sources: a sibling of workflows/ at the repo root, so every `../x` import still resolves. */
function copyWorkflows(variant: Variant, closers: Closer[]): string {
  const dir = resolve(REPO_ROOT, `.drill-${process.pid}-${variant}`);
  const source = resolve(REPO_ROOT, 'workflows');
  closers.push({ name: `the ${variant} copy`, close: () => rmSync(dir, { recursive: true, force: true }) });
  cpSync(source, dir, {
    recursive: true,
    filter: (path) => !path.endsWith('.test.ts') && !path.startsWith(resolve(source, 'histories')),
  });
  for (const change of NEXT_RELEASE) {
    const file = resolve(dir, change.file);
    writeFileSync(file, applyChange(readFileSync(file, 'utf8'), change, variant));
  }
  return resolve(dir, 'index.ts');
}

async function startStack(closers: Closer[], deploymentName: string): Promise<Stack> {
  const base = loadConfig(process.env);
  const cliPath = ensureTemporalCli(base.TEMPORAL_CLI_PATH);
  const databaseUrl = withDatabase(base.DATABASE_URL, `steadfast_drill_${process.pid}`);
  const bundleDir = mkdtempSync(join(tmpdir(), 'steadfast-drill-'));
  closers.push({ name: 'the bundles', close: () => rmSync(bundleDir, { recursive: true, force: true }) });
  const bundle = async (name: string, workflowsPath: string) => {
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') });
    const path = join(bundleDir, `${name}.js`);
    writeFileSync(path, code);
    return path;
  };
  // Settled, not raced: whatever did start is in `closers` before a failure is thrown.
  const started = await Promise.allSettled([
    freePort().then((port) => startDevServer({
      cliPath, port, logLevel: 'never', quiet: true, ownProcessGroup: true, searchAttributes: CUSTOM_SEARCH_ATTRIBUTES, dynamicConfig: DEV_SERVER_CONFIG,
    }, 120_000)).then((server) => {
      closers.push({ name: 'the dev server', close: () => server.stop() });
      process.once('exit', () => {
        if (server.process.exitCode === null && server.process.signalCode === null) server.process.kill('SIGTERM');
      });
      return server;
    }),
    ensureDatabase(databaseUrl).then(() => {
      closers.push({ name: 'the database', close: () => dropDatabase(databaseUrl) });
      return migrateUp(databaseUrl);
    }),
    startProcessorsServer({ port: 0 }).then((processors) => {
      closers.push({ name: 'the processors simulator', close: () => processors.close() });
      return processors;
    }),
    bundle('current', resolve(REPO_ROOT, 'workflows/index.ts')),
    bundle('next', copyWorkflows('guarded', closers)),
    bundle('unguarded', copyWorkflows('unguarded', closers)),
  ] as const);
  for (const result of started) if (result.status === 'rejected') throw result.reason;
  const [server, , processors, current, next, unguarded] = started.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    { address: string }, unknown, { url: string }, string, string, string,
  ];

  const config = loadConfig({
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: server.address,
    PROCESSORS_URL: processors.url,
    ADMIN_API_KEY: ADMIN_KEY,
    DB_POOL_MAX: '10',
    WORKER_VERSIONING: 'true',
    WORKER_DEPLOYMENT_NAME: deploymentName,
    WORKER_BUILD_ID: RELEASE,
    WORKER_PROMOTE_ON_START: 'never',
    REFUND_WINDOW,
    LEAVE_ESCALATION_AFTER,
    AUTHORIZATION_TTL: '1h',
    LEAVE_EXPIRY_AFTER: '1h',
  });
  const pool = createPool(databaseUrl, config.DB_POOL_MAX);
  closers.push({ name: 'the pool', close: () => endPool(pool) });
  const redis = new Redis(redisUrlOf(config), { maxRetriesPerRequest: 1 });
  closers.push({ name: 'Redis', close: () => redis.disconnect() });
  const connection = await Connection.connect(clientConnectionOptions(config));
  closers.push({ name: 'the client connection', close: () => connection.close() });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(config) });
  const app = createApp({ config, adminApiKey: ADMIN_KEY, pool, redis, temporal: client });
  const tenant = await createTenant(pool, 'Upgrade drill');

  async function startVersion(buildId: string, bundlePath: string) {
    const workerConnection = await NativeConnection.connect(workerConnectionOptions(config));
    const { workers, close } = await createWorkers({
      config: { ...config, WORKER_BUILD_ID: buildId }, connection: workerConnection, pool, workflowBundlePath: bundlePath,
      limits: { maxConcurrentActivityTaskExecutions: 20, maxConcurrentWorkflowTaskExecutions: 20, shutdownGraceTimeMs: 2_000 },
    });
    const running = Promise.all(workers.map((w) => w.run()));
    let stopped: Promise<void> | undefined;
    const stop = () => (stopped ??= (async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await close();
      await workerConnection.close();
    })());
    closers.push({ name: `the ${buildId} workers`, close: stop });
    return { stop };
  }

  return { config, pool, client, call: caller(app, tenant.apiKey), bundles: { current, next, unguarded }, startVersion };
}

// ── The workflows under the drill ────────────────────────────────────────────────────────────

/** A run opened through the API, waiting where the upgrade must find it. */
interface OpenRun {
  workflowId: string;
  /** Drives the run to its end through the API; what it ended with, e.g. `captured` (throws when wrong). */
  finish(): Promise<string>;
  /** The new path's effect in this run (e.g. `BusinessStatus requires_capture`), null when absent. */
  newEffect(history: History): Promise<string | null>;
}

/** One long-lived workflow in the drill: its N+1 change and how to open a waiting run of it. */
interface DrillWorkflow {
  change: NextReleaseChange;
  /** Opens a run that waits (resolves once it does). */
  open(kind: Kind): Promise<OpenRun>;
}

function drillWorkflows(stack: Stack): DrillWorkflow[] {
  const { call, client } = stack;
  const changeOf = (workflow: NextReleaseChange['workflow']) =>
    NEXT_RELEASE.find((c) => c.workflow === workflow) ?? fail(`no N+1 change for ${workflow} in scripts/drill/next-release.ts`);
  /** Resolves once the run waits on a timer (every drilled workflow waits on one). */
  const waitsOnTimer = (workflowId: string) => eventually(`${workflowId} to wait on its timer`, async () =>
    hasTimerStarted(await client.workflow.getHandle(workflowId).fetchHistory()) ? true : undefined);
  /** Resolves once the resource at `path` shows `status` and its run waits on a timer. */
  const waitsIn = async (path: string, status: string, workflowId: string) => {
    await eventually(`${path} to be ${status}`, async () => (await expectCall(call, 200, 'GET', path)).status === status ? true : undefined);
    await waitsOnTimer(workflowId);
  };

  // A manual-capture card payment: authorized, waiting for its capture.
  let merchant: Promise<string> | undefined;
  const paymentSaga: DrillWorkflow = {
    change: changeOf('paymentSaga'),
    async open(kind) {
      merchant ??= expectCall(call, 201, 'POST', '/v1/accounts', { type: 'merchant', currency: 'USD' }).then((b) => b.id as string);
      const amount = kind === 'old' ? 2_500 : 4_200;
      const created = await expectCall(call, 201, 'POST', '/v1/payments', {
        amount, currency: 'USD', merchant_account_id: await merchant, capture_method: 'manual', payment_method: { type: 'card', token: 'tok_visa' },
      });
      const id = created.id as string;
      const workflowId = `payment-${id}`;
      await waitsIn(`/v1/payments/${id}`, 'authorized', workflowId);
      return {
        workflowId,
        async finish() {
          const captured = await expectCall(call, 200, 'POST', `/v1/payments/${id}/capture`, {});
          if (captured.status !== 'captured' || captured.amount_captured !== amount) fail(`payment ${id}: capture answered ${JSON.stringify(captured)}`);
          const result = await resultOf<{ status: string }>(client, client.workflow.getHandle(workflowId));
          if (result.status !== 'captured') fail(`payment ${id}: the saga ended ${result.status}`);
          return 'captured';
        },
        async newEffect(history) {
          return upsertedStatuses(history).includes('requires_capture') ? 'BusinessStatus requires_capture' : null;
        },
      };
    },
  };

  // A leave request waiting for its approver (the approver has no manager: an escalation would keep them).
  let people: Promise<{ boss: string; ada: string; signingKey: { keyId: string; secret: string } }> | undefined;
  const setUpPeople = async () => {
    await expectCall(call, 201, 'POST', '/v1/leave-types', { code: 'annual', name: 'Annual leave' });
    const employee = (n: number, extra: Record<string, string> = {}) => expectCall(call, 201, 'POST', '/v1/employees', {
      employee_number: `D${n}`, first_name: n === 1 ? 'Grace' : 'Ada', last_name: n === 1 ? 'Hopper' : 'Lovelace',
      email: `drill${n}@example.com`, department: 'Ops', hire_date: '2020-01-06', ...extra,
    }).then((b) => b.id as string);
    const boss = await employee(1);
    const ada = await employee(2, { manager_id: boss });
    await expectCall(call, 201, 'POST', `/v1/employees/${ada}/leave-allocations`, { leave_type: 'annual', year: LEAVE_YEAR, days: 10 });
    const key = await expectCall(call, 201, 'POST', '/v1/actor-signing-keys');
    return { boss, ada, signingKey: { keyId: key.id as string, secret: key.secret as string } };
  };
  const leaveApproval: DrillWorkflow = {
    change: changeOf('leaveApproval'),
    async open(kind) {
      const { boss, ada, signingKey } = await (people ??= setUpPeople());
      const [start, end] = LEAVE_DATES[kind];
      const created = await expectCall(call, 201, 'POST', '/v1/leave-requests', { employee_id: ada, leave_type: 'annual', start_date: start, end_date: end });
      const id = created.id as string;
      if (created.status !== 'pending' || created.approver_id !== boss) fail(`leave request ${id}: ${JSON.stringify(created)}`);
      const workflowId = `leave-${id}`;
      await waitsOnTimer(workflowId);
      const reminded = async () => ((await expectCall(call, 200, 'GET', `/v1/leave-requests/${id}`)).history as { action: string; event?: string }[])
        .some((e) => e.action === 'notified' && e.event === 'leave.reminder');
      return {
        workflowId,
        async finish() {
          // A new run: its reminder comes halfway to the escalation; the approver decides after it.
          if (kind === 'new') await eventually(`the reminder of leave request ${id}`, async () => ((await reminded()) ? true : undefined));
          const headers = { 'steadfast-actor': await mintActorToken({ ...signingKey, sub: boss }) };
          const approved = await expectCall(call, 200, 'POST', `/v1/leave-requests/${id}/approve`, { comment: 'Enjoy' }, headers);
          if (approved.status !== 'approved') fail(`leave request ${id}: approve answered ${JSON.stringify(approved)}`);
          const result = await resultOf<{ status: string }>(client, client.workflow.getHandle(workflowId));
          if (result.status !== 'approved') fail(`leave request ${id}: the run ended ${result.status}`);
          return 'approved';
        },
        async newEffect() {
          return (await reminded()) ? 'approver reminded' : null;
        },
      };
    },
  };

  // A normal in-app notification deferred by the recipient's quiet hours.
  let template: Promise<unknown> | undefined;
  const notification: DrillWorkflow = {
    change: changeOf('notification'),
    async open(kind) {
      template ??= expectCall(call, 201, 'POST', '/v1/notification-templates', { id: 'drill', channels: { in_app: { title: 'Drill', body: 'Hello {{name}}' } } });
      await template;
      const user = `drill-${kind}`;
      await expectCall(call, 200, 'PUT', `/v1/users/${user}/notification-preferences`, { quiet_hours: quietHoursFor(kind === 'old' ? OLD_QUIET_MS : NEW_QUIET_MS) });
      const created = await expectCall(call, 202, 'POST', '/v1/notifications', {
        user_id: user, template_id: 'drill', data: { name: 'Ada' }, channels: ['in_app'], priority: 'normal',
      });
      const id = created.id as string;
      const workflowId = `notification-${id}`;
      await waitsIn(`/v1/notifications/${id}`, 'deferred', workflowId);
      return {
        workflowId,
        async finish() {
          const result = await resultOf<{ status: string }>(client, client.workflow.getHandle(workflowId));
          const row = await expectCall(call, 200, 'GET', `/v1/notifications/${id}`);
          const deliveries = row.deliveries as { channel: string; status: string }[];
          if (result.status !== 'completed' || row.status !== 'completed' || deliveries.some((d) => d.status !== 'sent')) {
            fail(`notification ${id}: ended ${result.status}, ${JSON.stringify(row)}`);
          }
          return `delivered after quiet hours (${clock(new Date().toISOString())})`;
        },
        async newEffect() {
          const memo = (await client.workflow.getHandle(workflowId).describe()).memo;
          return typeof memo?.deferredUntil === 'string' ? `memo deferredUntil ${clock(memo.deferredUntil)}` : null;
        },
      };
    },
  };

  // Payroll (contract §9) joins here once it exists: a DrillWorkflow and a change in next-release.ts.
  return [paymentSaga, leaveApproval, notification];
}

// ── The drill ────────────────────────────────────────────────────────────────────────────────

interface Outcome {
  workflow: string;
  passed: boolean;
  line: string;
}

/** Every run's history on the server, by workflow id. */
async function historiesOf(client: Client, ids: string[]): Promise<Map<string, History>> {
  return new Map(await Promise.all(ids.map(async (id) => [id, await client.workflow.getHandle(id).fetchHistory()] as const)));
}

async function replay(bundle: WorkflowBundleOption, config: Config, histories: Map<string, History>): Promise<Map<string, Error | undefined>> {
  const errors = new Map<string, Error | undefined>();
  const input = [...histories].map(([workflowId, history]) => ({ workflowId, history }));
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, dataConverter: dataConverterOf(config) }, input)) {
    errors.set(result.workflowId, result.error);
  }
  return errors;
}

async function versionOf(client: Client, workflowId: string): Promise<string | null> {
  const described = await client.workflow.getHandle(workflowId).describe();
  const info = described.raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion;
  if (info?.deploymentName && info.buildId) return `${info.deploymentName}:${info.buildId}`;
  return described.typedSearchAttributes.get(WorkerDeploymentVersion) ?? null;
}

async function drill(stack: Stack, deploymentName: string): Promise<Outcome[]> {
  const { client, config } = stack;
  const N: DeploymentVersion = { deploymentName, buildId: RELEASE };
  const next: DeploymentVersion = { deploymentName, buildId: `${RELEASE}-next` };
  const workflows = drillWorkflows(stack);

  // Release N: its workers, current; a waiting run of every workflow.
  const versionN = await stack.startVersion(N.buildId, stack.bundles.current);
  await setCurrentVersion(client, N);
  // Release N+1's workers start beside N's (the runbook's step 4: they poll, N stays current) while
  // the old runs open on N. DRILL_UNGUARDED=1 deploys the changes without their guard: what a
  // careless release does (the drill fails).
  const t = performance.now();
  const [old] = await Promise.all([
    Promise.all(workflows.map((w) => w.open('old'))),
    stack.startVersion(next.buildId, process.env.DRILL_UNGUARDED === '1' ? stack.bundles.unguarded : stack.bundles.next),
  ]);
  console.log(`drill: ${old.length} runs open and waiting on ${versionKey(N)}; ${versionKey(next)}'s workers polling; set-current ${next.buildId}`);

  // N+1 becomes current; N's workers drain and stop.
  await setCurrentVersion(client, next);
  await versionN.stop();
  // The runs must still be open: an old run that ended on N proves nothing.
  for (const run of old) {
    const { status } = await client.workflow.getHandle(run.workflowId).describe();
    if (status.name !== 'RUNNING') fail(`${run.workflowId} ended (${status.name}) before the upgrade was done: lengthen its wait (OLD_QUIET_MS, LEAVE_ESCALATION_AFTER)`);
  }
  console.log(`drill: ${versionKey(next)} current, ${versionKey(N)}'s workers stopped, the old runs still open (${((performance.now() - t) / 1000).toFixed(1)} s after N+1's workers started)`);

  // Every old run finishes on N+1; a new run of each opens and finishes there.
  const runs = await Promise.all(workflows.map(async (w, i) => {
    const oldRun = old[i]!;
    let newRun: OpenRun | undefined;
    const [oldEnd, newEnd] = await Promise.all([
      settle(oldRun.finish()),
      settle((async () => {
        newRun = await w.open('new');
        return newRun.finish();
      })()),
    ]);
    return { w, oldRun, oldEnd, newRun: newRun as OpenRun | undefined, newEnd };
  }));

  // What the runs recorded, replayed against N+1 and against the same changes unguarded.
  const ids = runs.flatMap((r) => [r.oldRun.workflowId, ...(r.newRun ? [r.newRun.workflowId] : [])]);
  const histories = await historiesOf(client, ids);
  const oldHistories = new Map(runs.map((r) => [r.oldRun.workflowId, histories.get(r.oldRun.workflowId)!]));
  const [guardedReplay, unguardedReplay] = [
    await replay({ codePath: stack.bundles.next }, config, histories),
    await replay({ codePath: stack.bundles.unguarded }, config, oldHistories),
  ];

  const outcomes: Outcome[] = [];
  for (const { w, oldRun, oldEnd, newRun, newEnd } of runs) {
    const problems: string[] = [];
    const patchId = w.change.patchId;
    const parts: string[] = [];
    // The old run: the right outcome, on N+1, through the old path, never a failed task.
    const oldHistory = histories.get(oldRun.workflowId)!;
    const oldVersion = await versionOf(client, oldRun.workflowId);
    if (!oldEnd.ok) problems.push(`old run: ${oldEnd.error}`);
    if (oldVersion !== versionKey(next)) problems.push(`old run ended on ${oldVersion ?? 'no version'}, not ${versionKey(next)}`);
    if (patchMarkers(oldHistory).includes(patchId)) problems.push(`old run recorded the ${patchId} marker (took the new path)`);
    const oldEffect = await oldRun.newEffect(oldHistory);
    if (oldEffect) problems.push(`old run shows the new path's effect (${oldEffect})`);
    if (failedTasks(oldHistory) > 0) problems.push(`old run had ${failedTasks(oldHistory)} failed workflow task(s)`);
    const oldReplay = guardedReplay.get(oldRun.workflowId);
    if (oldReplay) problems.push(`old run does not replay on N+1: ${oldReplay.name}: ${oldReplay.message}`);
    if (oldEnd.ok) parts.push(`old run: ${oldEnd.value} on ${oldVersion} via the old path`);

    // The new run: the right outcome, the patch marker and its effect.
    if (!newEnd.ok) problems.push(`new run: ${newEnd.error}`);
    if (newRun) {
      const newHistory = histories.get(newRun.workflowId)!;
      const effect = await newRun.newEffect(newHistory);
      if (!patchMarkers(newHistory).includes(patchId)) problems.push(`new run has no ${patchId} marker`);
      if (!effect) problems.push('new run shows no effect of the change');
      if (failedTasks(newHistory) > 0) problems.push(`new run had ${failedTasks(newHistory)} failed workflow task(s)`);
      const newVersion = await versionOf(client, newRun.workflowId);
      if (newVersion !== versionKey(next)) problems.push(`new run ran on ${newVersion ?? 'no version'}`);
      const newReplay = guardedReplay.get(newRun.workflowId);
      if (newReplay) problems.push(`new run does not replay on N+1: ${newReplay.name}`);
      if (newEnd.ok) parts.push(`new run: ${newEnd.value} via the new path (${effect ?? 'no effect'})`);
    }

    // The proof that the guard is what makes it safe: unguarded, the old run's replay breaks.
    const unguarded = unguardedReplay.get(oldRun.workflowId);
    if (unguarded?.name !== 'DeterminismViolationError') {
      problems.push(`unguarded change: the old run ${unguarded ? `failed with ${unguarded.name}: ${unguarded.message}` : 'replayed (the change is not a replay-breaking one: pick another)'}`);
    } else {
      parts.push('unguarded change: DeterminismViolationError');
    }
    outcomes.push({
      workflow: w.change.workflow,
      passed: problems.length === 0,
      line: problems.length === 0 ? parts.join(' · ') : problems.join('; '),
    });
  }
  return outcomes;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: string };
const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then((value) => ({ ok: true as const, value }), (err: Error) => ({ ok: false as const, error: err instanceof DrillFailure ? err.message : `${err.name}: ${err.message}` }));

// ── Main ─────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<number> {
  // Quiet: the replay of the unguarded bundle fails workflow tasks on purpose.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
  });
  const t0 = performance.now();
  const closers: Closer[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanUp = () => (cleaning ??= (async () => {
    for (const closer of closers.reverse()) {
      try {
        await closer.close();
      } catch (err) {
        console.error(`drill: cleanup of ${closer.name}: ${(err as Error).message}`);
      }
    }
  })());
  // `on`, not `once`: under npm a Ctrl-C arrives twice (the terminal's, and the one tsx relays).
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      console.error(`drill: ${signal}: cleaning up`);
      // The API's in-flight requests fail as the pool closes under them: not worth a stack trace each.
      console.error = () => undefined;
      void cleanUp().finally(() => process.exit(130));
    });
  }

  const deploymentName = `drill-${process.pid}`;
  let outcomes: Outcome[] = [];
  let failure: string | null = null;
  try {
    const stack = await startStack(closers, deploymentName);
    console.log(`drill: stack up in ${((performance.now() - t0) / 1000).toFixed(1)} s (N = ${RELEASE}, N+1 = ${RELEASE}-next: ${NEXT_RELEASE.map((c) => c.patchId).join(', ')})`);
    outcomes = await drill(stack, deploymentName);
    const audit = await auditLedger(stack.pool);
    if (audit.problems.length > 0) failure = `ledger audit: ${audit.problems.length} problem(s): ${JSON.stringify(audit.problems.slice(0, 3))}`;
  } catch (err) {
    failure = err instanceof DrillFailure ? err.message : (err as Error).stack ?? String(err);
  } finally {
    await cleanUp();
  }
  const width = Math.max(...NEXT_RELEASE.map((c) => c.workflow.length)) + 2;
  for (const o of outcomes) console.log(`${o.workflow.padEnd(width)}${o.passed ? 'passed' : 'FAILED'}  ${o.line}`);
  if (failure) console.log(`drill FAILED: ${failure}`);
  const passed = outcomes.filter((o) => o.passed).length;
  const failed = NEXT_RELEASE.length - passed;
  console.log(`drill: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && !failure ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then((code) => process.exit(code), (err: Error) => {
    console.error(err);
    process.exit(1);
  });
}
