import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payrollLine } from '../../domain/payroll/line.js';
import { eventually } from '../../test/eventually.js';
import { actorHeaders, auditedTenants, balanceOf, sentBeforeAnyWorker, startHarness, type Harness } from '../../test/harness.js';
import {
  allLines, createPayrollRun, hirePayrollEmployee, linkWallet, payrollAction, payrollCompany, US_RULES,
} from '../../test/payroll-fixture.js';
import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';
import { createPayrollActivities } from '../../activities/payroll/payroll-activities.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '20000', PAYROLL_BATCH_SIZE: '2', PAYROLL_PARALLEL_BATCHES: '2', PAYROLL_RETRY_WINDOW: '1h' } });
});
afterAll(async () => {
  await h?.close();
});
const newTenant = auditedTenants(() => h);

const PERIOD = '2026-10';
const PAST_PAY_DATE = '2026-10-30';
const RULES = {
  currency: US_RULES.currency,
  taxBrackets: US_RULES.tax_brackets.map((b) => ({ upToMinor: b.up_to, rateBps: b.rate_bps })),
  contributions: US_RULES.contributions.map((c) => ({ code: c.code, rateBps: c.rate_bps, capMinor: c.cap ?? null })),
};
/** What domain/payroll computes for a US employee in PERIOD (no holidays, no leave). */
const expectedLine = (annualSalaryMinor: number, hireDate: string) =>
  payrollLine({ period: PERIOD, employment: { compensations: [{ effectiveDate: hireDate, annualSalaryMinor, currency: 'USD' }], hireDate }, rules: RULES, holidays: new Set() })!;

const status = async (call: (m: string, p: string) => Promise<{ body: any }>, runId: string) => (await call('GET', `/v1/payroll-runs/${runId}`)).body.status;

/** Ledger rows of the run's payments (kind `payroll`), per credited account. */
async function payrollCredits(tenantId: string): Promise<Map<string, number[]>> {
  const { rows } = await h.pool.query(
    `SELECT e.account_id, e.amount FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
     WHERE t.tenant_id = $1 AND t.kind = 'payroll' AND e.direction = 'credit'`,
    [tenantId],
  );
  const credits = new Map<string, number[]>();
  for (const r of rows) credits.set(r.account_id, [...(credits.get(r.account_id) ?? []), Number(r.amount)]);
  return credits;
}

describe('a payroll run', () => {
  it('calculates, waits for a second person, holds the net, pays each line once; a line without a wallet fails alone and retry-failed pays it', async () => {
    const tenant = await newTenant();
    const { call } = tenant;
    const company = await payrollCompany(tenant, 5_000_000);
    const full = await hirePayrollEmployee(tenant, { annualSalaryMinor: 6_000_000 });
    const hiredMidMonth = await hirePayrollEmployee(tenant, { annualSalaryMinor: 9_000_000, hireDate: '2026-10-16' });
    const noWallet = await hirePayrollEmployee(tenant, { annualSalaryMinor: 4_800_000, wallet: false });
    await hirePayrollEmployee(tenant, { hireDate: '2026-11-02' }); // hired after the period: no line

    const created = await createPayrollRun(tenant, 'user_hr_1', { period: PERIOD, pay_date: PAST_PAY_DATE, funding_account_id: company });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const run = created.body;
    expect(run).toMatchObject({ object: 'payroll_run', status: 'awaiting_approval', period: PERIOD, lines_count: 3, created_by: 'user_hr_1' });
    expect(run.id).toMatch(/^pr_/);

    const expected = new Map([
      [full.id, expectedLine(6_000_000, '2024-01-01')], [hiredMidMonth.id, expectedLine(9_000_000, '2026-10-16')],
      [noWallet.id, expectedLine(4_800_000, '2024-01-01')],
    ]);
    const lines = await allLines(call, run.id);
    expect(lines.map((l) => l.employee_id).sort()).toEqual([...expected.keys()].sort());
    for (const l of lines) {
      const e = expected.get(l.employee_id)!;
      expect(l).toMatchObject({
        status: 'pending', currency: 'USD', gross: e.grossMinor, tax: e.taxMinor, net: e.netMinor, unpaid_days: 0, leave_payout: 0,
        contributions: e.contributions.map((c) => ({ code: c.code, amount: c.amountMinor })), transfer_id: null,
      });
    }
    // A mid-month hire is prorated by calendar days: 16 of 31 days.
    expect(expected.get(hiredMidMonth.id)!.grossMinor).toBe(Math.round((9_000_000 * 16) / (12 * 31)));
    const sum = (field: string) => lines.reduce((s, l) => s + (l[field] as number), 0);
    expect(run.totals).toEqual({
      gross: sum('gross'), tax: sum('tax'), net: sum('net'),
      contributions: lines.reduce((s, l) => s + l.contributions.reduce((t: number, c: { amount: number }) => t + c.amount, 0), 0),
    });

    // Four eyes: the creator may not approve; one live run per period.
    const self = await payrollAction(tenant, run.id, 'approve', 'user_hr_1');
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('forbidden');
    const again = await createPayrollRun(tenant, 'user_hr_1', { period: PERIOD, pay_date: PAST_PAY_DATE, funding_account_id: company });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('resource_exists');

    const approved = await payrollAction(tenant, run.id, 'approve', 'user_hr_2');
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ approved_by: 'user_hr_2' });
    await eventually(() => status(call, run.id), (s) => s === 'partially_failed', 20_000);

    const net = (id: string) => expected.get(id)!.netMinor;
    const afterFirst = await allLines(call, run.id);
    expect(afterFirst.find((l) => l.employee_id === noWallet.id)).toMatchObject({ status: 'failed', failure_code: 'no_wallet', transfer_id: null });
    for (const p of [full, hiredMidMonth]) {
      const l = afterFirst.find((x) => x.employee_id === p.id)!;
      expect(l.status).toBe('paid');
      expect((await balanceOf(call, p.walletId!)).balance).toBe(net(p.id));
      const transfer = await call('GET', `/v1/transfers/${l.transfer_id}`);
      expect(transfer.body).toMatchObject({ status: 'succeeded', amount: net(p.id), from_account_id: company, to_account_id: p.walletId });
    }
    // The failed line's net is still held for it; what was paid left the company account.
    const company1 = await balanceOf(call, company);
    expect(company1.balance).toBe(5_000_000 - net(full.id) - net(hiredMidMonth.id));
    expect(company1.available).toBe(company1.balance - net(noWallet.id));
    expect((await payrollAction(tenant, run.id, 'cancel', 'user_hr_2')).body.error.code).toBe('payroll_run_invalid_state');

    const wallet = await linkWallet(tenant, noWallet.id);
    const retried = await payrollAction(tenant, run.id, 'retry-failed', 'user_hr_3');
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    await eventually(() => status(call, run.id), (s) => s === 'paid', 20_000);
    expect((await balanceOf(call, wallet)).balance).toBe(net(noWallet.id));
    const company2 = await balanceOf(call, company);
    expect(company2).toEqual({ balance: 5_000_000 - run.totals.net, available: 5_000_000 - run.totals.net });

    // Each employee credited exactly once, with their net; each notified once.
    const credits = await payrollCredits(tenant.id);
    expect(credits).toEqual(new Map([[full.walletId, [net(full.id)]], [hiredMidMonth.walletId, [net(hiredMidMonth.id)]], [wallet, [net(noWallet.id)]]]));
    const events = await h.pool.query(`SELECT payload FROM outbox WHERE tenant_id = $1 AND topic = 'payroll.paid'`, [tenant.id]);
    expect(events.rows.map((r) => r.payload.employee_id).sort()).toEqual([...expected.keys()].sort());
    const final = (await call('GET', `/v1/payroll-runs/${run.id}`)).body;
    expect(final).toMatchObject({ status: 'paid', lines_paid: 3, lines_failed: 0 });
    expect((await payrollAction(tenant, run.id, 'retry-failed', 'user_hr_3')).status).toBe(409);
  });

  it('reads the leave ledger and terminations: unpaid leave is deducted, a leaver is prorated and paid their unused leave', async () => {
    const tenant = await newTenant();
    const { call } = tenant;
    const period = '2027-03';
    const company = await payrollCompany(tenant, 1_000);
    expect((await call('POST', '/v1/leave-types', { body: { code: 'unpaid', name: 'Unpaid leave', unpaid: true } })).status).toBe(201);
    expect((await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave' } })).status).toBe(201);
    expect((await call('POST', '/v1/holidays', { body: { date: '2027-03-09', name: 'A US holiday', country: 'US' } })).status).toBe(201);
    const manager = await hirePayrollEmployee(tenant, { annualSalaryMinor: 9_000_000 });
    const onLeave = await hirePayrollEmployee(tenant, { annualSalaryMinor: 6_000_000, managerId: manager.id });
    const leaver = await hirePayrollEmployee(tenant, { annualSalaryMinor: 7_200_000 });
    // Unpaid Mon 8 – Wed 10 March, the 9th a holiday: 2 working days (unpaid days are allocated like any type).
    expect((await call('POST', `/v1/employees/${onLeave.id}/leave-allocations`, { body: { leave_type: 'unpaid', year: 2027, days: 5 } })).status).toBe(201);
    const leave = await call('POST', '/v1/leave-requests', {
      body: { employee_id: onLeave.id, leave_type: 'unpaid', start_date: '2027-03-08', end_date: '2027-03-10' },
    });
    expect(leave.status, JSON.stringify(leave.body)).toBe(201);
    const approved = await call('POST', `/v1/leave-requests/${leave.body.id}/approve`, { body: {}, headers: await actorHeaders(tenant, manager.id) });
    expect(approved.body.status).toBe('approved');
    expect((await call('POST', `/v1/employees/${leaver.id}/leave-allocations`, { body: { leave_type: 'annual', year: 2027, days: 10 } })).status).toBe(201);
    const terminated = await call('POST', `/v1/employees/${leaver.id}/terminate`, { body: { termination_date: '2027-03-15' } });
    expect(terminated.status, JSON.stringify(terminated.body)).toBe(202);

    const run = (await createPayrollRun(tenant, 'user_a', { period, pay_date: '2099-01-01', funding_account_id: company })).body;
    expect(run).toMatchObject({ status: 'awaiting_approval', lines_count: 3 });
    const lines = new Map((await allLines(call, run.id)).map((l) => [l.employee_id as string, l]));
    const holidays = new Set(['2027-03-09']);
    const employment = (annual: number, terminationDate: string | null = null) =>
      ({ compensations: [{ effectiveDate: '2024-01-01', annualSalaryMinor: annual, currency: 'USD' }], hireDate: '2024-01-01', terminationDate });
    const unpaid = payrollLine({ period, employment: employment(6_000_000), rules: RULES, holidays, unpaidDays: 2 })!;
    const leaving = payrollLine({ period, employment: employment(7_200_000, '2027-03-15'), rules: RULES, holidays, leavePayoutDays: 10 })!;
    expect(lines.get(onLeave.id)).toMatchObject({ unpaid_days: 2, unpaid_deduction: unpaid.unpaidDeductionMinor, gross: unpaid.grossMinor, net: unpaid.netMinor });
    // 2 days of 22 working days (23 weekdays less the holiday) at 6,000,000 / 12.
    expect(unpaid.unpaidDeductionMinor).toBe(Math.round((6_000_000 * 2) / (12 * 22)));
    expect(lines.get(leaver.id)).toMatchObject({
      leave_payout_days: 10, leave_payout: leaving.leavePayoutMinor, prorated_gross: leaving.proratedGrossMinor, net: leaving.netMinor,
    });
    expect(leaving.proratedGrossMinor).toBe(Math.round((7_200_000 * 15) / (12 * 31)));
    expect(lines.get(manager.id)).toMatchObject({ unpaid_days: 0, leave_payout: 0, gross: 750_000 });
    expect((await payrollAction(tenant, run.id, 'cancel', 'user_a')).body.status).toBe('cancelled');
  });

  it('answers payslips as JSON and as a PDF', async () => {
    const tenant = await newTenant();
    const company = await payrollCompany(tenant, 1_000_000);
    const p = await hirePayrollEmployee(tenant, { annualSalaryMinor: 6_000_000 });
    const run = (await createPayrollRun(tenant, 'user_a', { period: PERIOD, pay_date: PAST_PAY_DATE, funding_account_id: company })).body;
    await payrollAction(tenant, run.id, 'approve', 'user_b');
    await eventually(() => status(tenant.call, run.id), (s) => s === 'paid', 20_000);
    const slip = await tenant.call('GET', `/v1/payroll-runs/${run.id}/lines/${p.id}/payslip`);
    expect(slip.status).toBe(200);
    expect(slip.body).toMatchObject({
      object: 'payslip', run_id: run.id, period: PERIOD, employee: { id: p.id, last_name: expect.stringMatching(/^Payee/) },
      net: expectedLine(6_000_000, '2024-01-01').netMinor, status: 'paid',
    });
    const pdf = await h.app.request(`/v1/payroll-runs/${run.id}/lines/${p.id}/payslip`, { headers: { authorization: `Bearer ${tenant.apiKey}`, accept: 'application/pdf' } });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
    expect((await tenant.call('GET', `/v1/payroll-runs/${run.id}/lines/emp_nobody/payslip`)).status).toBe(404);
  });

  it('fails insufficient_funds when the funding account cannot hold the whole net: nothing held or paid, and the period is free again', async () => {
    const tenant = await newTenant();
    const company = await payrollCompany(tenant, 100_000);
    const p = await hirePayrollEmployee(tenant, { annualSalaryMinor: 6_000_000 });
    const run = (await createPayrollRun(tenant, 'user_a', { period: PERIOD, pay_date: PAST_PAY_DATE, funding_account_id: company })).body;
    const approved = await payrollAction(tenant, run.id, 'approve', 'user_b');
    expect(approved.body).toMatchObject({ status: 'failed', failure_code: 'insufficient_funds' });
    expect(await balanceOf(tenant.call, company)).toEqual({ balance: 100_000, available: 100_000 });
    expect((await balanceOf(tenant.call, p.walletId!)).balance).toBe(0);
    expect((await payrollCredits(tenant.id)).size).toBe(0);
    const next = await createPayrollRun(tenant, 'user_a', { period: PERIOD, pay_date: PAST_PAY_DATE, funding_account_id: company });
    expect(next.status).toBe(201);
    expect((await payrollAction(tenant, next.body.id, 'cancel', 'user_a')).body.status).toBe('cancelled');
  });

  it('waits durably for a future pay date, paying nobody, and can be cancelled until then: the holds are voided', async () => {
    const tenant = await newTenant();
    const company = await payrollCompany(tenant, 2_000_000);
    const p = await hirePayrollEmployee(tenant, { annualSalaryMinor: 6_000_000 });
    const run = (await createPayrollRun(tenant, 'user_a', { period: PERIOD, pay_date: '2099-01-01', funding_account_id: company })).body;
    expect((await payrollAction(tenant, run.id, 'approve', 'user_b')).body.status).toBe('paying');
    const net = expectedLine(6_000_000, '2024-01-01').netMinor;
    expect(await balanceOf(tenant.call, company)).toEqual({ balance: 2_000_000, available: 2_000_000 - net });
    const handle = h.temporal.workflow.getHandle(workflowIdOf(workflowContracts.payrollRun, run.id));
    await eventually(async () => (await handle.describe()).searchAttributes.BusinessStatus, (v) => JSON.stringify(v) === '["awaiting_pay_date"]', 10_000);
    expect((await allLines(tenant.call, run.id))[0]!.status).toBe('pending');

    const cancelled = await payrollAction(tenant, run.id, 'cancel', 'user_c');
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancelled_by: 'user_c' });
    expect(await balanceOf(tenant.call, company)).toEqual({ balance: 2_000_000, available: 2_000_000 });
    expect((await balanceOf(tenant.call, p.walletId!)).balance).toBe(0);
    expect((await handle.result()).status).toBe('cancelled');
    expect((await payrollAction(tenant, run.id, 'approve', 'user_b')).status).toBe(409);
  });

  it('refuses bad input with the contract error and writes nothing', async () => {
    const tenant = await newTenant();
    const company = await payrollCompany(tenant, 1_000);
    const other = await newTenant();
    const bad = [
      [{ period: '2026-13', pay_date: PAST_PAY_DATE, funding_account_id: company }, 400, 'parameter_invalid'],
      [{ period: PERIOD, pay_date: '2026-02-30', funding_account_id: company }, 400, 'parameter_invalid'],
      [{ period: PERIOD, pay_date: PAST_PAY_DATE, funding_account_id: company, extra: 1 }, 400, 'parameter_unknown'],
      [{ period: PERIOD, pay_date: PAST_PAY_DATE, funding_account_id: 'acct_missing' }, 404, 'resource_missing'],
    ] as const;
    for (const [body, code, error] of bad) {
      const res = await tenant.call('POST', '/v1/payroll-runs', { body, headers: await actorHeaders(tenant, 'user_a') });
      expect(res.status, JSON.stringify(body)).toBe(code);
      expect(res.body.error.code).toBe(error);
    }
    const noActor = await tenant.call('POST', '/v1/payroll-runs', { body: { period: PERIOD, pay_date: PAST_PAY_DATE, funding_account_id: company } });
    expect(noActor.status).toBe(401);
    expect(noActor.body.error.code).toBe('actor_missing');
    const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM payroll_runs WHERE tenant_id = $1', [tenant.id]);
    expect(rows[0].n).toBe(0);

    const run = (await createPayrollRun(tenant, 'user_a', { period: PERIOD, pay_date: PAST_PAY_DATE, funding_account_id: company })).body;
    expect((await other.call('GET', `/v1/payroll-runs/${run.id}`)).status).toBe(404);
    expect((await payrollAction(other, run.id, 'approve', 'user_b')).status).toBe(404);
    expect((await tenant.call('GET', '/v1/payroll-runs')).body.data.map((r: { id: string }) => r.id)).toEqual([run.id]);
    expect((await payrollAction(tenant, run.id, 'cancel', 'user_a')).body.status).toBe('cancelled');
  });
});

describe('a run a step behind its row', () => {
  it('an approval sent as soon as the row says awaiting_approval, while the run still calculates, waits for it and approves once', async () => {
    // No worker while the row moves: the run has not even started its calculation.
    // The API waits 1 s for the calculation that does not come, and up to 1 s for the run to catch up.
    const lagging = await startHarness({ worker: false, env: { API_WAIT_WINDOW_MS: '1000' } });
    try {
      const stopSetUpWorker = await lagging.startWorker();
      const tenant = await lagging.newTenant();
      const company = await payrollCompany(tenant, 5_000_000);
      const employee = await hirePayrollEmployee(tenant, { annualSalaryMinor: 6_000_000 });
      await stopSetUpWorker();

      const created = await tenant.call('POST', '/v1/payroll-runs', {
        body: { period: PERIOD, pay_date: PAST_PAY_DATE, funding_account_id: company }, headers: await actorHeaders(tenant, 'user_hr_1'),
      });
      expect(created.body).toMatchObject({ status: 'calculating' });
      // The calculation step commits (as a worker would), the run has not heard of it.
      expect(await createPayrollActivities({ pool: lagging.pool }).calculatePayrollRun({ tenantId: tenant.id, runId: created.body.id }))
        .toMatchObject({ status: 'awaiting_approval' });
      expect((await tenant.call('GET', `/v1/payroll-runs/${created.body.id}`)).body.status).toBe('awaiting_approval');

      // The client approves what it reads; the run's validator sees `calculating` first.
      const approval = tenant.call('POST', `/v1/payroll-runs/${created.body.id}/approve`, {
        body: {}, headers: await actorHeaders(tenant, 'user_hr_2'), idempotencyKey: `approve-${created.body.id}`,
      });
      const approved = await sentBeforeAnyWorker(lagging, approval);
      expect(approved.status, JSON.stringify(approved.body)).toBe(200);
      expect(approved.body).toMatchObject({ approved_by: 'user_hr_2' });
      await eventually(() => status(tenant.call, created.body.id), (s) => s === 'paid', 20_000);
      expect(await payrollCredits(tenant.id)).toEqual(new Map([[employee.walletId, [expectedLine(6_000_000, '2024-01-01').netMinor]]]));
    } finally {
      await lagging.close();
    }
  }, 60_000);
});
