import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../platform/log.js';
import { metrics } from '../platform/metrics.js';
import { freePort } from '../platform/temporal-dev-server.js';
import { createNotificationInTransaction } from '../store/notifications/notifications.js';
import { insertPayment } from '../store/payments/payments.js';
import { insertPayrollRun } from '../store/payroll/runs.js';
import { scheduleTermination } from '../store/hr/employees.js';
import { insertReviewCycle } from '../store/hr/review-cycles.js';
import { withTransaction } from '../store/db.js';
import { insertTopUp } from '../store/wallet/topups.js';
import { insertTransfer } from '../store/wallet/transfers.js';
import { eventually } from '../test/eventually.js';
import { balanceOf, createAccount, startHarness, tenantRowCounts, type Harness } from '../test/harness.js';
import { hrTenant, YEAR } from '../test/hr-fixtures.js';
import { spawnApiProcess } from '../test/worker-process.js';
import { reconcileStarts } from './start-reconciler.js';

/**
 * Issue #12, "Row without a run": a row written by a create request whose workflow never started
 * (the API died between the two, or its start was ambiguous) gets its run from the reconciler.
 */

let h: Harness;
beforeAll(async () => {
  // A crashed request's Idempotency-Key is taken over after 1 s (not the default minute).
  h = await startHarness({ env: { IDEMPOTENCY_LOCK_TIMEOUT_MS: '1000' } });
});
afterAll(async () => {
  await h?.close();
});

const pass = (tenantId: string) => reconcileStarts({ pool: h.pool, temporal: h.temporal, config: h.config, tenantIds: [tenantId], afterMs: 0 });

async function runOf(workflowId: string): Promise<string | null> {
  try {
    return (await h.temporal.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

describe('the start reconciler', () => {
  it('the API process killed between the row and the start: one pass gives the transfer its run; money moves once', async () => {
    const tenant = await h.newTenant();
    const from = await createAccount(tenant.call, { fundMinor: 1_000 });
    const to = await createAccount(tenant.call);
    const port = await freePort();
    const api = spawnApiProcess(h, port, { FAULT_EXIT_BEFORE_START: 'true' });
    const body = { from_account_id: from, to_account_id: to, amount: 300, currency: 'USD' };
    try {
      await api.ready();
      const request = fetch(`http://127.0.0.1:${port}/v1/transfers`, {
        method: 'POST', body: JSON.stringify(body),
        headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json', 'idempotency-key': 'tr-crash-1' },
      });
      await expect(request).rejects.toThrow(); // the process died: the connection drops
    } finally {
      await api.kill();
    }
    const { rows } = await h.pool.query('SELECT id, status FROM transfers WHERE tenant_id = $1', [tenant.id]);
    expect(rows).toEqual([{ id: expect.stringMatching(/^tr_/), status: 'pending' }]);
    const id = rows[0].id as string;
    expect(await runOf(`transfer-${id}`)).toBeNull();

    const before = await metrics.startReconcilerRows.get();
    const report = await pass(tenant.id);
    expect(report.transfer).toEqual({ started: 1, adopted: 0, stuck: 0, failed: 0, unstarted: 0 });
    const started = (await metrics.startReconcilerRows.get()).values.find((v) => v.labels.kind === 'transfer' && v.labels.result === 'started');
    const startedBefore = before.values.find((v) => v.labels.kind === 'transfer' && v.labels.result === 'started')?.value ?? 0;
    expect(started?.value).toBe(startedBefore + 1);
    const done = await eventually(() => tenant.call('GET', `/v1/transfers/${id}`), (r) => r.body.status !== 'pending');
    expect(done.body.status).toBe('succeeded');

    // The client's retry with the same key (once the dead request's claim is stale) adopts it.
    const retried = await tenant.call('POST', '/v1/transfers', { body, idempotencyKey: 'tr-crash-1' });
    expect([retried.status, retried.body.id, retried.body.status]).toEqual([201, id, 'succeeded']);
    expect(await tenantRowCounts(h.pool, tenant.id)).toMatchObject({ transfers: 1, ledger_transactions: 2 });
    expect(await balanceOf(tenant.call, from)).toEqual({ balance: 700, available: 700 });
    expect(await balanceOf(tenant.call, to)).toEqual({ balance: 300, available: 300 });
    // Looked at once: the next pass has nothing to do.
    expect((await pass(tenant.id)).transfer).toEqual({ started: 0, adopted: 0, stuck: 0, failed: 0, unstarted: 0 });
  });

  it('top-ups, payments, notifications and leave requests left without a run get theirs', async () => {
    const tenant = await h.newTenant();
    const account = await createAccount(tenant.call, { fundMinor: 1_000 });
    const merchant = await createAccount(tenant.call, { type: 'merchant' });
    // The state a killed API leaves: the rows, written by the store as the routes write them; no runs.
    const topupId = await insertTopUp(h.pool, {
      tenantId: tenant.id, accountId: account, amountMinor: 500, currency: 'USD', source: { type: 'bank_account', token: 'btok_success' },
    });
    const payment = await insertPayment(h.pool, {
      tenantId: tenant.id, merchantAccountId: merchant, amountMinor: 200, currency: 'USD', captureMethod: 'automatic',
      paymentMethod: { type: 'wallet', accountId: account },
    });
    const { notification } = await createNotificationInTransaction(h.pool, {
      tenantId: tenant.id, userId: 'emp_1', templateId: 'transfer.received', channels: ['in_app'], priority: 'normal', critical: false,
      data: { amount: '1.00', currency: 'USD', transfer_id: 'tr_1' }, scheduledAt: null,
    });
    const hr = await hrTenant(h.pool, `reconcile-${randomUUID()}`);
    const employee = await hr.hire(); // no manager: the approval approves at once
    await hr.allocate(employee.id, 10);
    const leave = await hr.request({ employeeId: employee.id, startDate: `${YEAR}-03-03`, endDate: `${YEAR}-03-04` });

    const report = await pass(tenant.id);
    expect([report.topup.started, report.payment.started, report.notification.started]).toEqual([1, 1, 1]);
    expect((await pass(hr.tenantId)).leave_request.started).toBe(1);

    await eventually(() => tenant.call('GET', `/v1/topups/${topupId}`), (r) => r.body.status === 'succeeded');
    await eventually(() => tenant.call('GET', `/v1/payments/${payment.id}`), (r) => r.body.status === 'captured');
    expect(await balanceOf(tenant.call, account)).toEqual({ balance: 1_300, available: 1_300 });
    expect(await balanceOf(tenant.call, merchant)).toMatchObject({ balance: 200 });
    // No notification worker here: its run waits on its queue, with the input the API would give it.
    expect(await runOf(`notification-${notification.id}`)).toBe('RUNNING');
    await eventually(async () => (await h.pool.query('SELECT status FROM leave_requests WHERE id = $1', [leave.id])).rows[0], (r) => r.status === 'approved');
  });

  it('payroll runs and scheduled terminations left without a run get theirs', async () => {
    const tenant = await h.newTenant();
    const company = await createAccount(tenant.call, { type: 'merchant' });
    const run = await insertPayrollRun(h.pool, { tenantId: tenant.id, period: '2026-10', payDate: '2026-10-30', fundingAccountId: company, createdBy: 'user_a' });
    const hired = await tenant.call('POST', '/v1/employees', {
      body: { employee_number: 'R-1', first_name: 'Rae', last_name: 'Leaver', email: 'rae@example.com', department: 'Ops', hire_date: '2020-01-01' },
    });
    const employeeId = hired.body.id as string;
    await withTransaction(h.pool, (client) => scheduleTermination(client, {
      tenantId: tenant.id, employeeId, terminationDate: '2021-06-30', reason: null, requestKey: null,
    }));

    const report = await pass(tenant.id);
    expect([report.payroll_run.started, report.offboarding.started]).toEqual([1, 1]);
    await eventually(() => tenant.call('GET', `/v1/payroll-runs/${run.id}`), (r) => r.body.status === 'awaiting_approval');
    await eventually(() => tenant.call('GET', `/v1/employees/${employeeId}`), (r) => r.body.status === 'terminated');
    expect([(await pass(tenant.id)).payroll_run.started, (await pass(tenant.id)).offboarding.started]).toEqual([0, 0]);
  });

  it('a review cycle left without a run gets its run, which opens its reviews (issue #21)', async () => {
    const tenant = await h.newTenant();
    await tenant.call('POST', '/v1/employees', {
      body: { employee_number: 'RC-1', first_name: 'Rae', last_name: 'Viewed', email: 'rae.viewed@example.com', department: 'Ops', hire_date: '2020-01-01' },
    });
    const cycle = await withTransaction(h.pool, (client) => insertReviewCycle(client, {
      tenantId: tenant.id, name: 'H1', periodStart: '2031-01-01', periodEnd: '2031-06-30',
      selfReviewDue: new Date(Date.now() + 3_600_000), managerReviewDue: new Date(Date.now() + 7_200_000), employeeIds: null,
    }));
    expect((await pass(tenant.id)).review_cycle.started).toBe(1);
    await eventually(() => tenant.call('GET', `/v1/review-cycles/${cycle.id}`), (r) => r.body.status === 'open' && r.body.reviews_count === 1);
    expect((await pass(tenant.id)).review_cycle.started).toBe(0);
    await h.temporal.workflow.getHandle(`review-cycle-${cycle.id}`).terminate('test cleanup');
  });

  it('a row whose run exists is adopted; one whose run closed leaving it pending is counted stuck', async () => {
    const tenant = await h.newTenant();
    const from = await createAccount(tenant.call, { fundMinor: 100 });
    const to = await createAccount(tenant.call);
    // Started by the API (no notification worker: the run stays open, the row `processing`).
    const sent = await tenant.call('POST', '/v1/notifications', {
      body: { user_id: 'emp_1', template_id: 'transfer.received', data: { amount: '1', currency: 'USD', transfer_id: 'tr_1' }, channels: ['in_app'], priority: 'normal' },
    });
    expect(sent.status).toBe(202);
    // A transfer whose run was terminated before it did anything: closed, the row still pending.
    const transferId = await insertTransfer(h.pool, { tenantId: tenant.id, fromAccountId: from, toAccountId: to, amountMinor: 50, currency: 'USD', description: null });
    const handle = await h.temporal.workflow.start('p2pTransfer', {
      taskQueue: `nobody-${randomUUID()}`, workflowId: `transfer-${transferId}`,
      args: [{ tenantId: tenant.id, transferId, fromAccountId: from, toAccountId: to, amountMinor: 50, currency: 'USD' }],
    });
    await handle.terminate('test: a run that closed without ending its row');
    const logs = captureLogs();
    let report;
    let errors;
    try {
      report = await pass(tenant.id);
      errors = logs.lines().filter((line) => line.level === 'error' && line.tenantId === tenant.id);
    } finally {
      logs.stop();
    }
    expect(report.notification).toMatchObject({ adopted: 1, started: 0 });
    expect(report.transfer).toMatchObject({ stuck: 1, started: 0 });
    expect(errors).toEqual([expect.objectContaining({
      component: 'start-reconciler', workflowId: `transfer-${transferId}`, kind: 'transfer', rowId: transferId, msg: expect.stringContaining('needs ops'),
    })]);
    // Never a second run for that id: the terminated one stays the only one.
    expect(await runOf(`transfer-${transferId}`)).toBe('TERMINATED');
    expect(await balanceOf(tenant.call, from)).toEqual({ balance: 100, available: 100 });
  });
});
