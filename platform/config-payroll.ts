import { durationFromEnv, intFromEnv } from './env.js';

/**
 * Payroll runs (issue #19, contract §9): how a run pays its lines. Spread into the one schema in
 * platform/config.ts; the API passes them in the run's workflow input (a workflow reads no env).
 */
export const payrollEnv = {
  /** Lines paid per activity (one database transaction each), 1 to 1,000. */
  PAYROLL_BATCH_SIZE: intFromEnv(200, 1, 1_000),
  /**
   * Batches in flight at once per run, 1 to 16. Every line debits the one funding account, whose row
   * lock a batch holds until it commits, so lanes wait for each other: 1 measured as fast as 4
   * (bench:payroll); more pay only where a run's batches could use different accounts.
   */
  PAYROLL_PARALLEL_BATCHES: intFromEnv(1, 1, 16),
  /**
   * How long one batch may run before Temporal retries it elsewhere (a worker that died mid-batch is
   * noticed after this); a retry finds what the first attempt committed and pays only the rest.
   */
  PAYROLL_BATCH_TIMEOUT: durationFromEnv('2m'),
  /** How long a `partially_failed` run waits for `retry-failed` before its failed lines' holds are released. */
  PAYROLL_RETRY_WINDOW: durationFromEnv('30d'),
};
