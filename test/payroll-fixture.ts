import type pg from 'pg';
import { expect } from 'vitest';
import { auditLedger } from '../store/ledger/audit.js';
import { workflowContracts, workflowIdOf } from '../workflows/contracts.js';
import { actorHeaders, balanceOf, createAccount, type Call, type Harness } from './harness.js';
import { eventually } from './eventually.js';

/**
 * A tenant's payroll set-up through the API (contract §9): US rules in USD, a funded company
 * account, and employees with a salary and (unless told otherwise) a linked wallet.
 */

export const US_RULES = {
  currency: 'USD',
  tax_brackets: [{ up_to: 1_100_000, rate_bps: 1_000 }, { up_to: 4_472_500, rate_bps: 1_200 }, { up_to: null, rate_bps: 2_200 }],
  contributions: [{ code: 'social_security', rate_bps: 620, cap: 1_400_000 }, { code: 'medicare', rate_bps: 145 }],
};

export interface PayrollEmployeeSpec {
  annualSalaryMinor?: number;
  hireDate?: string;
  /** false: no wallet linked (its line fails `no_wallet`). */
  wallet?: boolean;
  managerId?: string;
}

export interface PayrollEmployee {
  id: string;
  walletId: string | null;
}

type Tenant = { id: string; call: Call };

let employeeCount = 0;

/** The rules and a company account holding `fundMinor` (USD). */
export async function payrollCompany(tenant: Tenant, fundMinor: number): Promise<string> {
  expect((await tenant.call('PUT', '/v1/payroll/rules/US', { body: US_RULES })).status).toBe(200);
  return createAccount(tenant.call, { type: 'merchant', fundMinor });
}

export async function hirePayrollEmployee(tenant: Tenant, spec: PayrollEmployeeSpec = {}): Promise<PayrollEmployee> {
  const n = ++employeeCount;
  const res = await tenant.call('POST', '/v1/employees', {
    body: {
      employee_number: `PR-${n}`, first_name: 'Pat', last_name: `Payee ${n}`, email: `payee${n}-${tenant.id}@example.com`.toLowerCase(),
      department: n % 2 ? 'Engineering' : 'Finance', hire_date: spec.hireDate ?? '2024-01-01', country: 'US',
      ...(spec.managerId ? { manager_id: spec.managerId } : {}),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const id = res.body.id as string;
  const comp = await tenant.call('POST', `/v1/employees/${id}/compensation`, {
    body: { effective_date: spec.hireDate ?? '2024-01-01', annual_salary: spec.annualSalaryMinor ?? 6_000_000, currency: 'USD' },
  });
  expect(comp.status, JSON.stringify(comp.body)).toBe(201);
  let walletId: string | null = null;
  if (spec.wallet !== false) walletId = await linkWallet(tenant, id);
  return { id, walletId };
}

/** A new USD user account linked as the employee's wallet. */
export async function linkWallet(tenant: Tenant, employeeId: string): Promise<string> {
  const walletId = await createAccount(tenant.call, { type: 'user' });
  const res = await tenant.call('POST', `/v1/employees/${employeeId}`, { body: { wallet_account_id: walletId } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return walletId;
}

/** `count` employees, `parallel` at a time. */
export async function hirePayrollEmployees(tenant: Tenant, count: number, spec: PayrollEmployeeSpec = {}, parallel = 8): Promise<PayrollEmployee[]> {
  const hired: PayrollEmployee[] = [];
  for (let i = 0; i < count; i += parallel) {
    hired.push(...(await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, () => hirePayrollEmployee(tenant, spec)))));
  }
  return hired;
}

/** POST /v1/payroll-runs as `actorId` (an employee or a user id). */
/**
 * Creates a run and, when it was accepted, waits until its calculation has ended (the API answers
 * within its wait window, so a loaded machine can answer `calculating`): the run then takes its
 * `approve` or `cancel` (refused while calculating). Returns the create's answer.
 */
export async function createPayrollRun(tenant: Tenant, actorId: string, body: { period: string; pay_date: string; funding_account_id: string }) {
  const created = await tenant.call('POST', '/v1/payroll-runs', { body, headers: await actorHeaders(tenant, actorId) });
  if (created.status < 300 && created.body?.status === 'calculating') {
    await eventually(async () => (await tenant.call('GET', `/v1/payroll-runs/${created.body.id}`)).body.status as string, (s) => s !== 'calculating', 60_000);
  }
  return created;
}

export async function payrollAction(tenant: Tenant, runId: string, action: 'approve' | 'cancel' | 'retry-failed', actorId: string) {
  return tenant.call('POST', `/v1/payroll-runs/${runId}/${action}`, { body: {}, headers: await actorHeaders(tenant, actorId) });
}

/** Every line of a run (pages of 100). */
export async function allLines(call: Call, runId: string): Promise<Record<string, any>[]> {
  const lines: Record<string, any>[] = [];
  for (let after: string | undefined; ;) {
    const page = await call('GET', `/v1/payroll-runs/${runId}/lines?limit=100${after ? `&starting_after=${after}` : ''}`);
    expect(page.status).toBe(200);
    lines.push(...page.body.data);
    if (!page.body.has_more) return lines;
    after = page.body.data.at(-1).employee_id;
  }
}

/**
 * The run is `paid` and every employee was paid exactly once, whatever happened on the way: each
 * line paid with a transfer, each wallet holding exactly its net, one ledger transaction, one
 * transfer and one `payroll.paid` event per employee, the company account down by the whole net
 * with nothing left held, and the tenant's ledger audit clean.
 */
export async function expectEachPaidOnce(
  pool: pg.Pool, tenant: Tenant, runId: string, employees: readonly PayrollEmployee[], company: { id: string; fundedMinor: number },
): Promise<void> {
  expect((await tenant.call('GET', `/v1/payroll-runs/${runId}`)).body).toMatchObject({ status: 'paid', lines_paid: employees.length, lines_failed: 0 });
  const lines = await allLines(tenant.call, runId);
  expect(lines).toHaveLength(employees.length);
  expect(lines.filter((l) => l.status !== 'paid' || !l.transfer_id)).toEqual([]);
  const netOf = new Map(lines.map((l) => [l.employee_id as string, l.net as number]));
  for (const e of employees) expect((await balanceOf(tenant.call, e.walletId!)).balance).toBe(netOf.get(e.id));

  const count = async (sql: string) => (await pool.query(sql, [tenant.id])).rows[0].n as number;
  expect(await count(`SELECT count(*)::int AS n FROM ledger_transactions WHERE tenant_id = $1 AND kind = 'payroll'`)).toBe(employees.length);
  expect(await count(`SELECT count(DISTINCT to_account_id)::int AS n FROM transfers WHERE tenant_id = $1 AND description LIKE 'Payroll%'`)).toBe(employees.length);
  expect(await count(`SELECT count(*)::int AS n FROM transfers WHERE tenant_id = $1 AND description LIKE 'Payroll%'`)).toBe(employees.length);
  expect(await count(`SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1 AND topic = 'payroll.paid'`)).toBe(employees.length);
  const totalNet = lines.reduce((s, l) => s + (l.net as number), 0);
  expect(await balanceOf(tenant.call, company.id)).toEqual({ balance: company.fundedMinor - totalNet, available: company.fundedMinor - totalNet });
  expect((await auditLedger(pool, { tenantId: tenant.id })).problems).toEqual([]);
}

/**
 * A new tenant's run for 2026-10 (paid at once: the pay date is past), `employeeCount` employees
 * on 48,000.00 USD a year, created by `user_hr_1` and approved by `user_hr_2`: it is `paying`.
 * `paidCount` reads how many of its lines are paid so far.
 */
export async function approvedPayrollRun(h: Harness, employeeCount: number, fundedMinor: number) {
  const tenant = await h.newTenant();
  const company = await payrollCompany(tenant, fundedMinor);
  const employees = await hirePayrollEmployees(tenant, employeeCount, { annualSalaryMinor: 4_800_000 });
  const run = (await createPayrollRun(tenant, 'user_hr_1', { period: '2026-10', pay_date: '2026-10-30', funding_account_id: company })).body;
  expect(run).toMatchObject({ status: 'awaiting_approval', lines_count: employeeCount });
  expect((await payrollAction(tenant, run.id, 'approve', 'user_hr_2')).body.status).toBe('paying');
  const paidCount = async () =>
    (await h.pool.query(`SELECT count(*)::int AS n FROM payroll_lines WHERE run_id = $1 AND status = 'paid'`, [run.id])).rows[0].n as number;
  return { tenant, company: { id: company, fundedMinor }, employees, run, paidCount, workflowId: workflowIdOf(workflowContracts.payrollRun, run.id) };
}
