import { describe, expect, it } from 'vitest';
import { startHarness } from '../../test/harness.js';
import { eventually } from '../../test/eventually.js';
import { approvedPayrollRun, expectEachPaidOnce } from '../../test/payroll-fixture.js';
import { completedAttempts, forgetStickyWorker, spawnWorkerProcess } from '../../test/worker-process.js';

const EMPLOYEES = 200;
const FUNDING_MINOR = 200_000_000;

/**
 * Issue #19: the worker process is SIGKILLed in the middle of paying 200 employees — batches of 10,
 * two in flight, each pausing 300 ms after its transaction committed (FAULT_AFTER_COMMIT_STEPS), so
 * the kill most likely lands where a batch has paid its lines and Temporal has not heard of it. A
 * fresh worker takes over once the batches' timeout passes (PAYROLL_BATCH_TIMEOUT, short here):
 * every employee is paid exactly once — one ledger posting, one transfer, one event each.
 */
describe('a payroll run whose worker dies mid-payment', () => {
  it('pays each of 200 employees exactly once after a fresh worker takes over', async () => {
    const h = await startHarness({
      worker: false,
      env: { API_WAIT_WINDOW_MS: '30000', PAYROLL_BATCH_SIZE: '10', PAYROLL_PARALLEL_BATCHES: '2', PAYROLL_BATCH_TIMEOUT: '4s' },
    });
    const doomed = spawnWorkerProcess(h, { FAULT_DELAY_AFTER_COMMIT_MS: '300', FAULT_AFTER_COMMIT_STEPS: 'payPayrollBatch' });
    try {
      await doomed.ready();
      const { tenant, company, employees, run, paidCount, workflowId } = await approvedPayrollRun(h, EMPLOYEES, FUNDING_MINOR);
      const paidAtKill = await eventually(async () => {
        doomed.assertAlive();
        return paidCount();
      }, (n) => n >= 40, 60_000);
      await doomed.kill();
      await forgetStickyWorker(h.temporal, workflowId);
      expect(paidAtKill).toBeLessThan(EMPLOYEES);

      await h.startWorker();
      await eventually(async () => (await tenant.call('GET', `/v1/payroll-runs/${run.id}`)).body.status, (s) => s === 'paid', 90_000);

      // The kill cost a batch its recorded completion: its retry ran after the first attempt's commit.
      expect((await completedAttempts(h.temporal, workflowId, 'payPayrollBatch')).some((attempt) => attempt > 1)).toBe(true);
      await expectEachPaidOnce(h.pool, tenant, run.id, employees, company);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- worker process output ---\n${doomed.output()}`, { cause: err });
    } finally {
      await doomed.kill();
      await h.close();
    }
  }, 240_000);
});
