import type pg from 'pg';
import { createTenant } from '../api/admin/tenants.js';
import { newId } from '../domain/ids.js';
import { withTransaction } from '../store/db.js';
import { ensureSystemAccount, findAccount, insertAccount } from '../store/ledger/accounts.js';
import { putPayrollRules } from '../store/payroll/rules.js';
import { fundAccounts } from './ledger-load.js';

/**
 * The tenant of `bench:payroll`, seeded in bulk (set-based SQL, a few statements per 2,000
 * employees; not the 40,000 API calls of the test fixture), and the checks of a paid run.
 * Every employee is in the US, paid in USD, with a compensation and a linked wallet (a user
 * account with nothing in it yet). The SQL is here, not in store/: only the bench writes rows this way.
 */

const CURRENCY = 'USD';
const ROWS_PER_STATEMENT = 2_000;
/** Every MID_MONTH_EVERY-th employee is hired on the 15th of the period: their line is prorated. */
const MID_MONTH_EVERY = 97;
const HIRED_BEFORE = '2024-01-01';
/** The funding account holds the whole gross (the net is less) plus this. */
const FUNDING_MARGIN_MINOR = 1_000_000;

/** The test fixture's US rules (test/payroll-fixture.ts), in the domain's spelling. */
const US_RULES = {
  currency: CURRENCY,
  taxBrackets: [{ upToMinor: 1_100_000, rateBps: 1_000 }, { upToMinor: 4_472_500, rateBps: 1_200 }, { upToMinor: null, rateBps: 2_200 }],
  contributions: [{ code: 'social_security', rateBps: 620, capMinor: 1_400_000 }, { code: 'medicare', rateBps: 145, capMinor: null }],
};

export interface PayrollTenant {
  tenantId: string;
  apiKey: string;
  fundingAccountId: string;
  fundingMinor: number;
  midMonthHires: number;
}

/** Annual salaries from 30,000.00 to 250,000.00 USD, spread deterministically. */
const annualSalaryOf = (i: number) => 3_000_000 + ((i * 7_919) % 2_201) * 10_000;

/** A tenant with US rules, `employees` employees (compensation + wallet each) and a funding account holding enough for `period`. */
export async function seedPayrollTenant(pool: pg.Pool, input: { employees: number; period: string }): Promise<PayrollTenant> {
  const tenant = await createTenant(pool, 'Payroll bench');
  await putPayrollRules(pool, { tenantId: tenant.id, country: 'US', ...US_RULES });
  let midMonthHires = 0;
  let grossMinor = 0;
  for (let first = 0; first < input.employees; first += ROWS_PER_STATEMENT) {
    const indexes = Array.from({ length: Math.min(ROWS_PER_STATEMENT, input.employees - first) }, (_, k) => first + k);
    const hireDates = indexes.map((i) => (i % MID_MONTH_EVERY === MID_MONTH_EVERY - 1 ? `${input.period}-15` : HIRED_BEFORE));
    midMonthHires += hireDates.filter((d) => d !== HIRED_BEFORE).length;
    grossMinor += indexes.reduce((sum, i) => sum + Math.ceil(annualSalaryOf(i) / 12), 0);
    await insertEmployees(pool, tenant.id, indexes, hireDates);
  }
  const systemId = await ensureSystemAccount(pool, tenant.id, CURRENCY);
  const fundingAccountId = (await insertAccount(pool, { tenantId: tenant.id, type: 'merchant', currency: CURRENCY })).id;
  const fundingMinor = grossMinor + FUNDING_MARGIN_MINOR;
  await fundAccounts(pool, { tenantId: tenant.id, systemId, currency: CURRENCY, ids: [fundingAccountId], amountMinor: fundingMinor, keyPrefix: 'bench:fund:payroll' });
  return { tenantId: tenant.id, apiKey: tenant.apiKey, fundingAccountId, fundingMinor, midMonthHires };
}

/** One chunk: the wallets, the employees linked to them, their compensations (effective on the hire date). */
async function insertEmployees(pool: pg.Pool, tenantId: string, indexes: number[], hireDates: string[]): Promise<void> {
  const employeeIds = indexes.map(() => newId('employee'));
  const walletIds = indexes.map(() => newId('account'));
  await withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO accounts (id, tenant_id, type, currency) SELECT id, $1, 'user', $2 FROM unnest($3::text[]) AS a(id)`,
      [tenantId, CURRENCY, walletIds],
    );
    await client.query(
      `INSERT INTO employees (id, tenant_id, employee_number, first_name, last_name, email, department, hire_date, country, wallet_account_id)
       SELECT e.id, $1, 'PB-' || e.n, 'Bench', 'Payee ' || e.n, 'payee-' || e.n || '@example.com',
              CASE WHEN e.n % 2 = 0 THEN 'Engineering' ELSE 'Finance' END, e.hire_date::date, 'US', e.wallet
       FROM unnest($2::text[], $3::int[], $4::text[], $5::text[]) AS e(id, n, hire_date, wallet)`,
      [tenantId, employeeIds, indexes, hireDates, walletIds],
    );
    await client.query(
      `INSERT INTO compensations (id, tenant_id, employee_id, effective_date, annual_salary, currency)
       SELECT c.id, $1, c.employee_id, c.effective_date::date, c.annual_salary, $2
       FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[]) AS c(id, employee_id, effective_date, annual_salary)`,
      [tenantId, CURRENCY, indexes.map(() => newId('compensation')), employeeIds, hireDates, indexes.map(annualSalaryOf)],
    );
  });
}

export interface PayrollCheck {
  lines: number;
  paidLines: number;
  totalNetMinor: number;
  /** Lines whose wallet got other than exactly one `payroll` credit (none for a zero net). */
  wrongTransactionCount: number;
  /** Lines whose wallet's balance is not the line's net. */
  wrongBalance: number;
  /** `payroll` ledger transactions of the tenant, and how many distinct employees' keys they carry. */
  payrollTransactions: number;
  companyBalanceMinor: number;
  companyHeldMinor: number;
}

/** What a paid run left in the ledger: per line its wallet's credits and balance, the company account. */
export async function checkPaidRun(pool: pg.Pool, tenant: PayrollTenant, runId: string): Promise<PayrollCheck> {
  const [{ rows: [lines] }, { rows: [transactions] }, company] = await Promise.all([
    pool.query(
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
      [tenant.tenantId, runId],
    ),
    pool.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE tenant_id = $1 AND kind = 'payroll'`, [tenant.tenantId]),
    findAccount(pool, tenant.tenantId, tenant.fundingAccountId),
  ]);
  return {
    lines: lines.lines as number, paidLines: lines.paid as number, totalNetMinor: Number(lines.total_net),
    wrongTransactionCount: lines.wrong_count as number, wrongBalance: lines.wrong_balance as number,
    payrollTransactions: transactions.n as number,
    companyBalanceMinor: company?.balanceMinor ?? Number.NaN, companyHeldMinor: company?.heldMinor ?? Number.NaN,
  };
}
