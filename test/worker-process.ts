import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { inject } from 'vitest';
import type { Harness } from './harness.js';

/**
 * Real processes for crash tests: the worker process (`workers/main.ts`) or a relay-only process,
 * started on a test file's own task queues and killed with SIGKILL (no shutdown, no drain: a crash).
 * Their output is kept, not printed (tests stay quiet), and shown when one dies before its kill;
 * their log lines (JSON on their stdout) are also appended to the run's log file (test/run-logs.ts),
 * which test/whole-run-logs.test.ts greps.
 */

const WORKER_ENTRY = fileURLToPath(new URL('../workers/main.ts', import.meta.url));
const RELAY_ENTRY = fileURLToPath(new URL('./outbox-relay-process.ts', import.meta.url));
const API_ENTRY = fileURLToPath(new URL('../api/main.ts', import.meta.url));
const OUTPUT_MAX_CHARS = 20_000;

export interface CrashableProcess {
  /** Resolves once the process says it is up (its workers poll, its relay listens); rejects if it exits first. */
  ready(): Promise<void>;
  /** Throws (with the process's output) if it exited before `kill`: call it inside polls. */
  assertAlive(): void;
  /** SIGKILLs the process group and waits until the process is gone. Safe to call twice. */
  kill(): Promise<void>;
  /** The end of what it wrote to stdout and stderr. */
  output(): string;
}

/** The environment of `h`'s test file for a child process: its services and its own task queues. */
function childEnv(h: Harness, extra: Record<string, string>): NodeJS.ProcessEnv {
  const c = h.config;
  // The test dev server is plain TCP: a developer's TEMPORAL_TLS*/TEMPORAL_API_KEY must not reach the child.
  // Nor the run's LOG_FILE: the child logs to its stdout, read here (readiness) and appended to that file.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(TEMPORAL_(TLS|API_KEY)|LOG_FILE$)/.test(name)));
  return {
    ...inherited,
    NODE_ENV: 'test',
    DATABASE_URL: c.DATABASE_URL,
    DB_POOL_MAX: '10',
    REDIS_URL: c.REDIS_URL,
    TEMPORAL_ADDRESS: c.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: c.TEMPORAL_NAMESPACE,
    TASK_QUEUE_WALLET: c.TASK_QUEUE_WALLET,
    TASK_QUEUE_PAYMENTS: c.TASK_QUEUE_PAYMENTS,
    TASK_QUEUE_HR: c.TASK_QUEUE_HR,
    TASK_QUEUE_NOTIFICATIONS: c.TASK_QUEUE_NOTIFICATIONS,
    WORKER_VERSIONING: String(c.WORKER_VERSIONING),
    WORKER_DEPLOYMENT_NAME: c.WORKER_DEPLOYMENT_NAME,
    WORKER_BUILD_ID: c.WORKER_BUILD_ID,
    PROCESSORS_URL: c.PROCESSORS_URL,
    PROCESSOR_TIMEOUT_MS: String(c.PROCESSOR_TIMEOUT_MS),
    PROCESSOR_BREAKER_HALF_OPEN_MS: String(c.PROCESSOR_BREAKER_HALF_OPEN_MS),
    SMTP_URL: c.SMTP_URL,
    PUSH_PROVIDER_URL: c.PUSH_PROVIDER_URL,
    SMS_PROVIDER_URL: c.SMS_PROVIDER_URL,
    // What a domainEvent run gets in its input (durations in ms).
    NOTIFICATION_RETRY_MAX_ATTEMPTS: String(c.NOTIFICATION_RETRY_MAX_ATTEMPTS),
    NOTIFICATION_RETRY_INITIAL_INTERVAL: String(c.NOTIFICATION_RETRY_INITIAL_INTERVAL),
    NOTIFICATION_RETRY_MAX_INTERVAL: String(c.NOTIFICATION_RETRY_MAX_INTERVAL),
    NOTIFICATION_RETRY_BACKOFF: String(c.NOTIFICATION_RETRY_BACKOFF),
    WEBHOOK_RETRY_MAX_ATTEMPTS: String(c.WEBHOOK_RETRY_MAX_ATTEMPTS),
    WEBHOOK_RETRY_INITIAL_INTERVAL: String(c.WEBHOOK_RETRY_INITIAL_INTERVAL),
    WEBHOOK_RETRY_MAX_INTERVAL: String(c.WEBHOOK_RETRY_MAX_INTERVAL),
    WEBHOOK_ALLOW_HTTP: String(c.WEBHOOK_ALLOW_HTTP),
    WEBHOOK_PRIVATE_ALLOWLIST: c.WEBHOOK_PRIVATE_ALLOWLIST.join(','),
    WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    SETTLEMENT_SCHEDULE_ENABLED: 'false',
    // The worker's relay has no tenant filter: in the shared test database it would claim (and
    // start on this file's queue) the events of every other test file.
    OUTBOX_RELAY_ENABLED: 'false',
    // The same for the start reconciler: it would start other files' unstarted rows on this file's queues.
    START_RECONCILER_ENABLED: 'false',
    WORKER_METRICS_PORT: '0',
    ...extra,
  };
}

/** A JSON log line's fields, or null for any other output (a crash's stack on stderr, a banner). */
export function jsonLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** The log line (`service`, `msg`) a process writes once it is up. */
interface ReadyLine {
  service: string;
  msg: string;
}

function spawnCrashable(entry: string, args: string[], env: NodeJS.ProcessEnv, readyLine: ReadyLine): CrashableProcess {
  // Its own process group (detached), so the kill reaches everything it started.
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const runLogFile = inject('runLogFile');
  let output = '';
  let isReady = false;
  let onReady = () => {};
  const keep = (line: string) => {
    output = `${output}${line}\n`.slice(-OUTPUT_MAX_CHARS);
    const logged = jsonLine(line);
    if (!logged) return;
    appendFileSync(runLogFile, `${line}\n`);
    if (!isReady && logged.service === readyLine.service && logged.msg === readyLine.msg) {
      isReady = true;
      onReady();
    }
  };
  createInterface({ input: child.stdout }).on('line', keep);
  createInterface({ input: child.stderr }).on('line', keep);
  let killed = false;
  let exitCode: number | string | null | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exitCode = code ?? signal;
    resolve();
  }));
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    void exited.then(() => reject(new Error(`${entry} exited (${exitCode}) before it was up:\n${output}`)));
  });
  ready.catch(() => undefined); // awaited by those who need it
  return {
    ready: () => ready,
    assertAlive() {
      if (exitCode !== undefined && !killed) throw new Error(`${entry} exited (${exitCode}) before the kill:\n${output}`);
    },
    async kill() {
      killed = true;
      if (exitCode === undefined && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await exited;
    },
    output: () => output,
  };
}

/** The worker process (`workers/main.ts`: every task queue of `h`, no relay), armed with `faults` (env). */
export function spawnWorkerProcess(h: Harness, faults: Record<string, string> = {}): CrashableProcess {
  return spawnCrashable(WORKER_ENTRY, [], childEnv(h, faults), { service: 'worker', msg: 'polling' });
}

/** A process that runs only the outbox relay, for `tenantIds`, armed with `faults` (env). */
export function spawnRelayProcess(h: Harness, tenantIds: string[], faults: Record<string, string> = {}): CrashableProcess {
  return spawnCrashable(RELAY_ENTRY, tenantIds, childEnv(h, faults), { service: 'relay', msg: 'relaying' });
}

/**
 * The API process (`api/main.ts`) on `port`, against `h`'s services and task queues, armed with
 * `faults` (env). Its admin key is the harness's.
 */
export function spawnApiProcess(h: Harness, port: number, faults: Record<string, string> = {}): CrashableProcess {
  const env = childEnv(h, { HOST: '127.0.0.1', PORT: String(port), ADMIN_API_KEY: h.config.ADMIN_API_KEY ?? '', ...faults });
  return spawnCrashable(API_ENTRY, [], env, { service: 'api', msg: 'listening' });
}

/** The run's activity of `activityType` in flight as Temporal sees it (started, attempt), or null. */
export async function pendingActivity(temporal: Client, workflowId: string, activityType: string) {
  const { raw } = await temporal.workflow.getHandle(workflowId).describe();
  const found = raw.pendingActivities?.find((a) => a.activityType?.name === activityType);
  if (!found) return null;
  return {
    started: found.state === proto.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
    attempt: found.attempt ?? 0,
  };
}

/**
 * The attempt numbers with which the run's history records `activityType` completed, one per
 * completed activity. An attempt above 1 ran after an earlier attempt timed out or failed.
 */
export async function completedAttempts(temporal: Client, workflowId: string, activityType: string): Promise<number[]> {
  const events = (await temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Set(events
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
    .map((e) => String(e.eventId)));
  const attemptOf = new Map(events
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => [String(e.eventId), e.activityTaskStartedEventAttributes!.attempt ?? 0]));
  return events
    .filter((e) => e.activityTaskCompletedEventAttributes && scheduled.has(String(e.activityTaskCompletedEventAttributes.scheduledEventId)))
    .map((e) => attemptOf.get(String(e.activityTaskCompletedEventAttributes!.startedEventId)) ?? 0);
}

/**
 * Tells Temporal that the run's sticky worker is gone (what a worker does when it drops a run from
 * its cache): the run's next workflow task goes to any worker of its queue at once, instead of
 * waiting out the dead worker's sticky schedule-to-start timeout (10 s) first. It changes when the
 * fresh worker gets the run, not what it finds: a crash test then waits for the activity timeout only.
 */
export async function forgetStickyWorker(temporal: Client, workflowId: string): Promise<void> {
  await temporal.workflowService.resetStickyTaskQueue({ namespace: temporal.options.namespace, execution: { workflowId } });
}
