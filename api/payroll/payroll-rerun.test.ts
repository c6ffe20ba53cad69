import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { ensureTemporalCli, freePort, startDevServer, type DevServer } from '../../platform/temporal-dev-server.js';
import { eventually } from '../../test/eventually.js';
import { startHarness, testConfig, type Harness } from '../../test/harness.js';
import { approvedPayrollRun, createPayrollRun, expectEachPaidOnce } from '../../test/payroll-fixture.js';
import { completedAttempts } from '../../test/worker-process.js';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { retryWorkflow, terminateWorkflow } from '../ops/workflow-ops.js';

/**
 * Issue #19: "re-running, retrying failed lines, a crashed worker or a restarted server never pays
 * anyone twice". The worker crash is api/payroll/payroll-crash.test.ts, retry-failed runs.test.ts;
 * here the run is re-run by ops (terminated mid-payment, `ops retry`, then reset to before its first
 * payment so that every batch runs again), and the Temporal server is killed mid-payment and
 * restarted on its own database. Each batch pauses after its commit (FAULT_AFTER_COMMIT_STEPS), so
 * the faults land while lines are being paid.
 */

const FUNDING_MINOR = 100_000_000;
const EventType = proto.temporal.api.enums.v1.EventType;

const PAYING_SLOWLY = {
  PAYROLL_BATCH_SIZE: '5', PAYROLL_PARALLEL_BATCHES: '2', PAYROLL_BATCH_TIMEOUT: '4s',
  FAULT_DELAY_AFTER_COMMIT_MS: '400', FAULT_AFTER_COMMIT_STEPS: 'payPayrollBatch', API_WAIT_WINDOW_MS: '30000',
};

/** The last workflow task the run completed before it scheduled its first payPayrollBatch: a reset there pays everything again. */
async function beforeFirstBatch(temporal: Client, workflowId: string) {
  const events = (await temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const firstBatch = events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'payPayrollBatch');
  return events.slice(0, firstBatch).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).at(-1)!;
}

describe('a payroll run re-run or interrupted by its server', () => {
  it('terminated mid-payment and re-run by ops, then reset to before its first payment: each employee is paid once', async () => {
    const h = await startHarness({ env: PAYING_SLOWLY });
    try {
      const { tenant, company, employees, run, paidCount, workflowId } = await approvedPayrollRun(h, 40, FUNDING_MINOR);
      await eventually(paidCount, (n) => n >= 10, 30_000);
      await terminateWorkflow(h.temporal, workflowId, 'test: a stuck run stopped by hand');
      expect((await h.temporal.workflow.getHandle(workflowId).describe()).status.name).toBe('TERMINATED');
      expect((await tenant.call('GET', `/v1/payroll-runs/${run.id}`)).body.status).toBe('paying');

      // `npm run ops -- retry`: reset to the last completed workflow task, the unpaid batches run.
      const retried = await retryWorkflow(h.temporal, workflowId, 'test: re-run after terminate');
      expect(retried.run_id).not.toBe(retried.previous_run_id);
      await h.temporal.workflow.getHandle(workflowId).result();
      await expectEachPaidOnce(h.pool, tenant, run.id, employees, company);

      // Re-run everything: reset to the workflow task that scheduled the first batch. All 8 batches
      // run again (completed in the new run's history), and pay nobody a second time.
      const resetTo = await beforeFirstBatch(h.temporal, workflowId);
      const { runId } = await h.temporal.workflow.getHandle(workflowId).describe();
      await h.temporal.workflowService.resetWorkflowExecution({
        namespace: h.temporal.options.namespace, workflowExecution: { workflowId, runId },
        workflowTaskFinishEventId: resetTo.eventId, reason: 'test: pay everything again', requestId: randomUUID(),
      });
      expect(await h.temporal.workflow.getHandle(workflowId).result()).toEqual({ status: 'paid' });
      expect(await completedAttempts(h.temporal, workflowId, 'payPayrollBatch')).toHaveLength(40 / 5);
      await expectEachPaidOnce(h.pool, tenant, run.id, employees, company);

      // Another run for the paid period is refused, and pays nobody.
      const again = await createPayrollRun(tenant, 'user_hr_1', { period: '2026-10', pay_date: '2026-10-30', funding_account_id: company.id });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('resource_exists');
      await expectEachPaidOnce(h.pool, tenant, run.id, employees, company);
    } finally {
      await h.close();
    }
  }, 120_000);

  it('the Temporal server killed mid-payment and restarted on its database: each employee is paid once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steadfast-payroll-server-'));
    const port = await freePort();
    const start = () => startDevServer({
      cliPath: ensureTemporalCli(testConfig().TEMPORAL_CLI_PATH), port, dbFile: join(dir, 'temporal.db'),
      logLevel: 'never', quiet: true, dieWithParent: true, searchAttributes: CUSTOM_SEARCH_ATTRIBUTES,
    }, 120_000);
    let server: DevServer = await start();
    let h: Harness | undefined;
    try {
      h = await startHarness({ env: { ...PAYING_SLOWLY, TEMPORAL_ADDRESS: server.address } });
      const { tenant, company, employees, run, paidCount } = await approvedPayrollRun(h, 60, FUNDING_MINOR);
      await eventually(paidCount, (n) => n >= 10, 30_000);
      const exited = new Promise((resolve) => server.process.once('exit', resolve));
      server.process.kill('SIGKILL');
      await exited;
      const paidWhileDown = await paidCount();
      expect(paidWhileDown).toBeLessThan(employees.length);

      server = await start();
      await eventually(async () => (await tenant.call('GET', `/v1/payroll-runs/${run.id}`)).body.status, (s) => s === 'paid', 90_000);
      await expectEachPaidOnce(h.pool, tenant, run.id, employees, company);
    } finally {
      await h?.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
