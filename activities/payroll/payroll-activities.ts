import type pg from 'pg';
import { LedgerError } from '../../domain/ledger/errors.js';
import { calculateRun, type PayrollRunStatus } from '../../domain/payroll/run.js';
import { withTransaction } from '../../store/db.js';
import { finishPaying, holdRunNet, payLineBatch, releaseRunHolds, resetFailedLines, type BatchOutcome, type RunStep } from '../../store/payroll/pay.js';
import { readRunInputs } from '../../store/payroll/run-inputs.js';
import { findPayrollRun, lockPayrollRun, moveRun, writeCalculation } from '../../store/payroll/runs.js';
import { asActivityStep } from '../failure.js';
import { pauseAfterCommit, type AfterCommitFault } from '../fault-injection.js';

type RunRef = Pick<RunStep, 'tenantId' | 'runId'>;

/**
 * The steps of the payroll run workflow (workflows/payroll/payroll-run.ts). Each is one database
 * transaction guarded by the run's status or the lines' (store/payroll), so a retry after its
 * commit — a worker killed before Temporal heard of it — finds the work done and does nothing.
 */
export function createPayrollActivities({ pool, faultAfterCommit }: { pool: pg.Pool; faultAfterCommit?: AfterCommitFault }) {
  return {
    /** Lines and totals from compensation, hires, terminations, unpaid leave and leave payout → `awaiting_approval` (or `failed`). */
    async calculatePayrollRun(ref: RunRef): Promise<{ status: PayrollRunStatus; linesCount: number }> {
      return asActivityStep(async () => {
        const run = await findPayrollRun(pool, ref.tenantId, ref.runId);
        if (!run) throw new Error(`payroll run ${ref.runId} is missing`);
        if (run.status === 'calculating') {
          const calculation = calculateRun(await readRunInputs(pool, ref.tenantId, run.period));
          await withTransaction(pool, (client) => writeCalculation(client, ref.tenantId, ref.runId, calculation));
        }
        const after = (await findPayrollRun(pool, ref.tenantId, ref.runId))!;
        return { status: after.status, linesCount: after.linesCount };
      });
    },

    /** Four eyes passed: hold the whole net on the funding account → `paying`, or `failed` `insufficient_funds`. */
    async holdPayrollNet(step: RunStep & { approvedBy: string }): Promise<PayrollRunStatus> {
      return asActivityStep(() => withTransaction(pool, (client) => holdRunNet(client, step)));
    },

    /**
     * Pays the lines with `seq` in [fromSeq, toSeq]: fast (no savepoints), and again carefully
     * (a savepoint per line) only when the ledger refused a line, so that line fails alone.
     */
    async payPayrollBatch(step: RunStep & { fromSeq: number; toSeq: number }): Promise<BatchOutcome> {
      const outcome = await asActivityStep(async () => {
        try {
          return await withTransaction(pool, (client) => payLineBatch(client, { ...step, careful: false }));
        } catch (err) {
          if (!(err instanceof LedgerError)) throw err;
          return withTransaction(pool, (client) => payLineBatch(client, { ...step, careful: true }));
        }
      });
      await pauseAfterCommit(faultAfterCommit, 'payPayrollBatch');
      return outcome;
    },

    async finishPayrollRun(ref: RunRef): Promise<PayrollRunStatus> {
      return asActivityStep(() => withTransaction(pool, (client) => finishPaying(client, ref.tenantId, ref.runId)));
    },

    /**
     * Before the first payment: the holds are voided and the run `cancelled` (by `actorId`).
     * Returns the run's status (a run that moved on meanwhile is left as it is).
     */
    async cancelPayrollRun(ref: RunRef & { actorId: string }): Promise<PayrollRunStatus> {
      return asActivityStep(() => withTransaction(pool, async (client) => {
        const run = await lockPayrollRun(client, ref.tenantId, ref.runId);
        const cancellable = run.status === 'awaiting_approval' || (run.status === 'paying' && run.payingStartedAt === null);
        if (!cancellable) return run.status;
        await releaseRunHolds(client, { ...ref, fundingAccountId: run.fundingAccountId }, 'all');
        await moveRun(client, ref.tenantId, ref.runId, [run.status], 'cancelled', { cancelled_by: ref.actorId });
        return 'cancelled' as const;
      }));
    },

    /** `retry-failed`: failed lines back to `pending`, the run `paying` again; returns how many. */
    async retryFailedPayrollLines(ref: RunRef): Promise<number> {
      return asActivityStep(() => withTransaction(pool, (client) => resetFailedLines(client, ref.tenantId, ref.runId)));
    },

    /** The retry window closed: the failed lines' holds go back to the funding account. */
    async releaseFailedPayrollHolds(ref: RunRef): Promise<number> {
      return asActivityStep(() => withTransaction(pool, async (client) => {
        const run = await lockPayrollRun(client, ref.tenantId, ref.runId);
        return releaseRunHolds(client, { ...ref, fundingAccountId: run.fundingAccountId }, 'failed');
      }));
    },
  };
}

export type PayrollActivities = ReturnType<typeof createPayrollActivities>;
