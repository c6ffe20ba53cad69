import { z } from 'zod';
import { booleanFromEnv, durationFromEnv, intFromEnv, jsonFromEnv } from './env.js';
import { DEVELOPMENT_CALLBACK_SECRETS, notificationEnv } from './config-notifications.js';
import { rateLimitEnv } from './config-rate-limits.js';
import { cacheEnv } from './config-cache.js';
import { redisConfigProblems, redisEnv } from './config-redis.js';
import { logEnv } from './config-log.js';
import { DEVELOPMENT_PAYLOAD_KEYS, DEVELOPMENT_SEALING_KEYS, securityEnv } from './config-security.js';
import { temporalConfigProblems, temporalEnv, versioningEnv } from './config-temporal.js';
import { telemetryEnv } from './config-telemetry.js';
import { fxEnv } from './config-fx.js';
import { payrollEnv } from './config-payroll.js';
import { recruitmentEnv } from './config-recruitment.js';
import { reviewEnv } from './config-reviews.js';
import { parseSealingKeys } from './secrets.js';
import { isMultiHostUrl, multiHostUrlProblem } from './postgres-url.js';

/**
 * Ordered processors per payment method and currency ('*' is the fallback for any currency).
 * Names are checked against the adapters when the router is built (worker start-up).
 */
const processorListSchema = z.array(z.string().regex(/^[a-z0-9_]{1,64}$/)).min(1).max(10);
const processorRoutesSchema = z.strictObject({
  card: z.record(z.string().regex(/^(\*|[A-Z]{3})$/), processorListSchema),
  bank_transfer: z.record(z.string().regex(/^(\*|[A-Z]{3})$/), processorListSchema),
  wallet: z.record(z.string().regex(/^(\*|[A-Z]{3})$/), processorListSchema).default({ '*': ['wallet_ledger'] }),
});
export type ProcessorRoutes = z.infer<typeof processorRoutesSchema>;

const DEFAULT_PROCESSOR_ROUTES: ProcessorRoutes = {
  card: { '*': ['acq_primary', 'acq_secondary'] },
  bank_transfer: { '*': ['bank_sim'] },
  wallet: { '*': ['wallet_ledger'] },
};

/** The activities that can pause after their commit (FAULT_AFTER_COMMIT_STEPS). */
export const AFTER_COMMIT_FAULT_STEPS = ['postTransfer', 'capturePayment', 'refundPayment', 'payPayrollBatch'] as const;
export type AfterCommitFaultStep = (typeof AFTER_COMMIT_FAULT_STEPS)[number];

/** A comma-separated list (empty by default), each item checked by `item`. */
const listFromEnv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z.string().default('').transform((text) => text.split(',').map((part) => part.trim()).filter((part) => part !== ''))
    .pipe(z.array(item).max(20));

/**
 * One host: any URL, as before. Several (`postgres://u@h1:p1,h2:p2/db?target_session_attrs=read-write`,
 * a primary and its standby): WHATWG URL refuses that host list, so platform/postgres-url.ts checks it.
 */
const databaseUrlSchema = z.string().superRefine((value, ctx) => {
  const problem = isMultiHostUrl(value) ? multiHostUrlProblem(value) : z.string().url().safeParse(value).success ? null : 'Invalid URL';
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * The one environment schema. Every process parses it once at start-up (`loadConfig`); nothing
 * else reads `process.env`. Units are last in names; every value has a bound.
 */
export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: intFromEnv(3000, 0, 65_535),
  DATABASE_URL: databaseUrlSchema.default('postgres://postgres@127.0.0.1:5432/steadfast'),
  /**
   * `npm start` without DATABASE_URL and with nothing on 127.0.0.1:5432: the embedded PostgreSQL's
   * directory (relative to the repository; its cluster kept in `data/`) and the port it tries first.
   */
  EMBEDDED_PG_DIR: z.string().min(1).default('.data/embedded-postgres'),
  EMBEDDED_PG_PORT: intFromEnv(5433, 1, 65_535),
  DB_POOL_MAX: intFromEnv(20, 1, 500),
  /**
   * Optional, API only: where the audit logs and the ledger audit read (a standby:
   * `…?target_session_attrs=prefer-standby`). Unset: they read DATABASE_URL like everything else.
   */
  DATABASE_READ_URL: databaseUrlSchema.optional(),
  /** The API's second pool, on DATABASE_READ_URL (only opened when that is set). */
  DB_READ_POOL_MAX: intFromEnv(5, 1, 500),
  /** REDIS_URL, REDIS_MODE, STEADFAST_INSTANCES: platform/config-redis.ts (single-instance mode without Redis). */
  ...redisEnv,
  REDIS_COMMAND_TIMEOUT_MS: intFromEnv(500, 10, 60_000),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_UI_PORT: intFromEnv(8233, 1, 65_535),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  TEMPORAL_DB_FILE: z.string().min(1).default('.data/temporal.sqlite'),
  /** `npm start`'s own files (admin key, demo tenant, the pid file of its children), relative to the repository. */
  START_DATA_DIR: z.string().min(1).default('.data'),
  TASK_QUEUE_WALLET: z.string().min(1).max(200).default('wallet'),
  /** A prebuilt workflow bundle (tests, containers); else the worker bundles at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  ADMIN_API_KEY: z.string().min(24, 'ADMIN_API_KEY must be at least 24 characters').optional(),
  API_WAIT_WINDOW_MS: intFromEnv(10_000, 0, 60_000),
  IDEMPOTENCY_RETENTION_HOURS: intFromEnv(24, 24, 24 * 30),
  IDEMPOTENCY_IN_FLIGHT_WAIT_MS: intFromEnv(12_000, 0, 60_000),
  IDEMPOTENCY_LOCK_TIMEOUT_MS: intFromEnv(60_000, 1_000, 3_600_000),
  WORKER_MAX_CONCURRENT_ACTIVITIES: intFromEnv(100, 1, 2_000),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: intFromEnv(40, 1, 2_000),
  WORKER_SHUTDOWN_GRACE_MS: intFromEnv(10_000, 0, 300_000),
  /** Fault injection for tests and drills only: delay before a transfer's ledger post. */
  FAULT_DELAY_BEFORE_POST_MS: intFromEnv(0, 0, 600_000),
  /**
   * Fault injection for tests and drills only: the steps listed in FAULT_AFTER_COMMIT_STEPS wait
   * this long after their database transaction committed, before Temporal hears of it — a crash
   * in the pause leaves a committed effect whose completion Temporal never recorded.
   */
  FAULT_DELAY_AFTER_COMMIT_MS: intFromEnv(0, 0, 600_000),
  FAULT_AFTER_COMMIT_STEPS: listFromEnv(z.enum(AFTER_COMMIT_FAULT_STEPS)),
  /** Fault injection for tests and drills only: the outbox relay's pause after starting a batch's runs, before its commit. */
  OUTBOX_FAULT_DELAY_BEFORE_COMMIT_MS: intFromEnv(0, 0, 600_000),
  /** The simulated card acquirers and bank (simulators/processors): its port, and where clients find it. */
  PROCESSORS_SIM_PORT: intFromEnv(4010, 0, 65_535),
  PROCESSORS_URL: z.string().url().default('http://127.0.0.1:4010'),
  /** How long a processor call may take before its outcome counts as unknown (resolved by lookup). */
  PROCESSOR_TIMEOUT_MS: intFromEnv(2_000, 50, 60_000),
  /** JSON, e.g. {"card":{"*":["acq_primary","acq_secondary"]},"bank_transfer":{"*":["bank_sim"]}}. */
  PROCESSOR_ROUTES: jsonFromEnv.pipe(processorRoutesSchema).default(DEFAULT_PROCESSOR_ROUTES),
  /** Consecutive failures (5xx, timeouts) that open a processor's circuit breaker. */
  PROCESSOR_BREAKER_FAILURES: intFromEnv(5, 1, 1_000),
  /** How long an open breaker routes away before it lets one trial call through. */
  PROCESSOR_BREAKER_HALF_OPEN_MS: intFromEnv(30_000, 100, 3_600_000),
  TASK_QUEUE_PAYMENTS: z.string().min(1).max(200).default('payments'),
  /** A manual-capture authorization is voided (`authorization_expired`) after this (contract §3). */
  AUTHORIZATION_TTL: durationFromEnv('7d'),
  /** A transfer or payment the risk score sent to review is declined (`expired`) after this (contract §8). */
  RISK_REVIEW_TIMEOUT: durationFromEnv('24h'),
  /** How long a captured payment's saga stays open for refunds and cancels. */
  REFUND_WINDOW: durationFromEnv('180d'),
  /** The settlement Schedule: how often it runs, how far behind now its window ends, batch size. */
  SETTLEMENT_INTERVAL: durationFromEnv('1h'),
  SETTLEMENT_LAG: durationFromEnv('0s'),
  SETTLEMENT_BATCH_LIMIT: intFromEnv(500, 1, 1_000),
  TASK_QUEUE_HR: z.string().min(1).max(200).default('hr'),
  /** An undecided leave request is escalated to the approver's manager after this (contract §4). */
  LEAVE_ESCALATION_AFTER: durationFromEnv('48h'),
  /** An undecided leave request expires (days released) after this, counted from the request. */
  LEAVE_EXPIRY_AFTER: durationFromEnv('7d'),
  /** The worker creates (or updates) the settlement Schedule at start. */
  SETTLEMENT_SCHEDULE_ENABLED: booleanFromEnv('true'),
  /** The worker's Prometheus `/metrics` (no auth, bound to HOST); 0 turns it off. */
  WORKER_METRICS_PORT: intFromEnv(9464, 0, 65_535),
  ...notificationEnv,
  ...rateLimitEnv,
  ...cacheEnv,
  ...securityEnv,
  ...temporalEnv,
  ...versioningEnv,
  ...logEnv,
  ...telemetryEnv,
  ...fxEnv,
  ...payrollEnv,
  ...recruitmentEnv,
  ...reviewEnv,
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; a bad variable fails start-up with its name in the message. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const temporalProblems = [...temporalConfigProblems(result.data), ...redisConfigProblems(result.data)];
  if (temporalProblems.length > 0) throw new ConfigError(`Invalid environment:\n${temporalProblems.map((p) => `  ${p}`).join('\n')}`);
  if (result.data.NODE_ENV === 'production') {
    const developmentKey = parseSealingKeys(DEVELOPMENT_SEALING_KEYS)[0]!.key;
    if (result.data.SECRETS_ENCRYPTION_KEYS.some((k) => k.key.equals(developmentKey))) {
      throw new ConfigError('Invalid environment:\n  SECRETS_ENCRYPTION_KEYS: production needs its own keys (npm run ops -- new-sealing-key)');
    }
    const developmentPayloadKey = parseSealingKeys(DEVELOPMENT_PAYLOAD_KEYS)[0]!.key;
    if (result.data.TEMPORAL_PAYLOAD_KEYS.some((k) => k.key.equals(developmentPayloadKey))) {
      throw new ConfigError('Invalid environment:\n  TEMPORAL_PAYLOAD_KEYS: production needs its own keys (npm run ops -- new-sealing-key)');
    }
    // Anyone could sign delivery receipts with the public development secrets.
    const names = Object.keys(DEVELOPMENT_CALLBACK_SECRETS) as (keyof typeof DEVELOPMENT_CALLBACK_SECRETS)[];
    const publicOnes = names.filter((name) => result.data[name] === DEVELOPMENT_CALLBACK_SECRETS[name]);
    if (publicOnes.length > 0) {
      throw new ConfigError(`Invalid environment:\n${publicOnes.map((name) => `  ${name}: production needs its own secret (the default is public)`).join('\n')}`);
    }
  }
  return result.data;
}

/** The API cannot run without the admin key; the worker does not need it. */
export function requireAdminKey(config: Config): string {
  if (!config.ADMIN_API_KEY) throw new ConfigError('Invalid environment:\n  ADMIN_API_KEY: required by the API');
  return config.ADMIN_API_KEY;
}

/** The task queues by role (the shape of `TaskQueues` in workflows/contracts.ts). */
export function taskQueues(config: Config) {
  return {
    wallet: config.TASK_QUEUE_WALLET,
    payments: config.TASK_QUEUE_PAYMENTS,
    hr: config.TASK_QUEUE_HR,
    notifications: config.TASK_QUEUE_NOTIFICATIONS,
  };
}
