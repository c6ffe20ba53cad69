import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { toSafeInt, type Db } from '../db.js';
import { assertInTransaction } from '../rows.js';

/**
 * Bulk rows and checks for the payroll benchmark (bench/payroll.ts), by set-based SQL: 10,000
 * employees in a few statements instead of 40,000 API calls, and one pass over a paid run's lines.
 */

export interface SyntheticEmployee {
  /** Makes the employee number, name and email unique in the tenant. */
  n: number;
  hireDate: string;
  annualSalaryMinor: number;
}

/**
 * Per employee, in the caller's transaction: a user account (empty) in `currency`, the employee
 * (`country`, linked to that account as their wallet) and a compensation effective on the hire date.
 */
export async function insertSyntheticEmployees(
  client: pg.PoolClient, input: { tenantId: string; currency: string; country: string; employees: readonly SyntheticEmployee[] },
): Promise<void> {
  assertInTransaction(client, 'insertSyntheticEmployees');
  const { tenantId, currency, employees } = input;
  const employeeIds = employees.map(() => newId('employee'));
  const walletIds = employees.map(() => newId('account'));
  const hireDates = employees.map((e) => e.hireDate);
  await client.query(
    `INSERT INTO accounts (id, tenant_id, type, currency) SELECT id, $1, 'user', $2 FROM unnest($3::text[]) AS a(id)`,
    [tenantId, currency, walletIds],
  );
  await client.query(
    `INSERT INTO employees (id, tenant_id, employee_number, first_name, last_name, email, department, hire_date, country, wallet_account_id)
     SELECT e.id, $1, 'PB-' || e.n, 'Bench', 'Payee ' || e.n, 'payee-' || e.n || '@example.com',
            CASE WHEN e.n % 2 = 0 THEN 'Engineering' ELSE 'Finance' END, e.hire_date::date, $2, e.wallet
     FROM unnest($3::text[], $4::int[], $5::text[], $6::text[]) AS e(id, n, hire_date, wallet)`,
    [tenantId, input.country, employeeIds, employees.map((e) => e.n), hireDates, walletIds],
  );
  await client.query(
    `INSERT INTO compensations (id, tenant_id, employee_id, effective_date, annual_salary, currency)
     SELECT c.id, $1, c.employee_id, c.effective_date::date, c.annual_salary, $2
     FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[]) AS c(id, employee_id, effective_date, annual_salary)`,
    [tenantId, currency, employees.map(() => newId('compensation')), employeeIds, hireDates, employees.map((e) => e.annualSalaryMinor)],
  );
}

export interface PaidRunLedgerCheck {
  lines: number;
  paidLines: number;
  totalNetMinor: number;
  /** Lines whose wallet got other than exactly one `payroll` credit (none for a zero net). */
  wrongCreditCount: number;
  /** Lines whose wallet's balance (stored plus pending credits) is not the line's net. */
  wrongBalance: number;
  /** The tenant's `payroll` ledger transactions. */
  payrollTransactions: number;
}

/**
 * A paid run against the ledger, line by line: its wallet's `payroll` credits and its balance
 * (the wallets held nothing before the run and received nothing else).
 */
export async function checkPaidRunLedger(db: Db, tenantId: string, runId: string): Promise<PaidRunLedgerCheck> {
  const [{ rows: [lines] }, { rows: [transactions] }] = await Promise.all([
    db.query(
      `WITH credits AS (
         SELECT en.account_id, count(*)::int AS n
         FROM ledger_transactions tx JOIN ledger_entries en ON en.transaction_id = tx.id AND en.direction = 'credit'
         WHERE tx.tenant_id = $1 AND tx.kind = 'payroll' GROUP BY en.account_id)
       SELECT count(*)::int AS lines, count(*) FILTER (WHERE l.status = 'paid')::int AS paid, coalesce(sum(l.net), 0)::text AS total_net,
              count(*) FILTER (WHERE coalesce(c.n, 0) <> CASE WHEN l.net > 0 THEN 1 ELSE 0 END)::int AS wrong_count,
              count(*) FILTER (WHERE w.balance + coalesce((SELECT sum(p.amount) FROM ledger_pending_credits p WHERE p.account_id = w.id), 0)
                                     IS DISTINCT FROM l.net)::int AS wrong_balance
       FROM payroll_lines l
       JOIN employees e ON e.tenant_id = l.tenant_id AND e.id = l.employee_id
       LEFT JOIN accounts w ON w.id = e.wallet_account_id
       LEFT JOIN credits c ON c.account_id = e.wallet_account_id
       WHERE l.run_id = $2`,
      [tenantId, runId],
    ),
    db.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE tenant_id = $1 AND kind = 'payroll'`, [tenantId]),
  ]);
  return {
    lines: lines.lines as number, paidLines: lines.paid as number, totalNetMinor: toSafeInt(lines.total_net as string),
    wrongCreditCount: lines.wrong_count as number, wrongBalance: lines.wrong_balance as number, payrollTransactions: transactions.n as number,
  };
}
