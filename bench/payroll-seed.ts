import type pg from 'pg';
import { createTenant } from '../api/admin/tenants.js';
import { withTransaction } from '../store/db.js';
import { ensureSystemAccount, findAccount, insertAccount } from '../store/ledger/accounts.js';
import { putPayrollRules } from '../store/payroll/rules.js';
import { checkPaidRunLedger, insertSyntheticEmployees, type PaidRunLedgerCheck } from '../store/payroll/synthetic-payroll.js';
import { fundAccounts } from './ledger-load.js';

/**
 * The tenant of `bench:payroll`, seeded in bulk (store/payroll/synthetic-payroll.ts: a few
 * statements per 2,000 employees, not the 40,000 API calls of test/payroll-fixture.ts), and the
 * checks of its paid run. Every employee is in the US, paid in USD, with a compensation and a
 * linked wallet (a user account with nothing in it yet).
 */

const CURRENCY = 'USD';
const EMPLOYEES_PER_TRANSACTION = 2_000;
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
  /** `YYYY-MM`: the month the employees were seeded for (mid-month hires on its 15th). */
  period: string;
  employees: number;
  apiKey: string;
  fundingAccountId: string;
  fundingMinor: number;
  midMonthHires: number;
}

/** Annual salaries from 30,000.00 to 250,000.00 USD, spread deterministically. */
const annualSalaryOf = (n: number) => 3_000_000 + ((n * 7_919) % 2_201) * 10_000;

/** A tenant with US rules, `employees` employees (compensation + wallet each) and a funding account holding enough for `period`. */
export async function seedPayrollTenant(pool: pg.Pool, input: { employees: number; period: string }): Promise<PayrollTenant> {
  const tenant = await createTenant(pool, 'Payroll bench');
  await putPayrollRules(pool, { tenantId: tenant.id, country: 'US', ...US_RULES });
  let midMonthHires = 0;
  let grossMinor = 0;
  for (let first = 0; first < input.employees; first += EMPLOYEES_PER_TRANSACTION) {
    const employees = Array.from({ length: Math.min(EMPLOYEES_PER_TRANSACTION, input.employees - first) }, (_, k) => {
      const n = first + k;
      const midMonth = n % MID_MONTH_EVERY === MID_MONTH_EVERY - 1;
      midMonthHires += midMonth ? 1 : 0;
      grossMinor += Math.ceil(annualSalaryOf(n) / 12);
      return { n, hireDate: midMonth ? `${input.period}-15` : HIRED_BEFORE, annualSalaryMinor: annualSalaryOf(n) };
    });
    await withTransaction(pool, (client) => insertSyntheticEmployees(client, { tenantId: tenant.id, currency: CURRENCY, country: 'US', employees }));
  }
  const systemId = await ensureSystemAccount(pool, tenant.id, CURRENCY);
  const fundingAccountId = (await insertAccount(pool, { tenantId: tenant.id, type: 'merchant', currency: CURRENCY })).id;
  const fundingMinor = grossMinor + FUNDING_MARGIN_MINOR;
  await fundAccounts(pool, { tenantId: tenant.id, systemId, currency: CURRENCY, ids: [fundingAccountId], amountMinor: fundingMinor, keyPrefix: 'bench:fund:payroll' });
  return { tenantId: tenant.id, period: input.period, employees: input.employees, apiKey: tenant.apiKey, fundingAccountId, fundingMinor, midMonthHires };
}

export interface PayrollCheck extends PaidRunLedgerCheck {
  companyBalanceMinor: number;
  companyHeldMinor: number;
}

/** What a paid run left in the ledger: per line its wallet's credits and balance; the company account. */
export async function checkPaidRun(pool: pg.Pool, tenant: PayrollTenant, runId: string): Promise<PayrollCheck> {
  const [lines, company] = await Promise.all([
    checkPaidRunLedger(pool, tenant.tenantId, runId), findAccount(pool, tenant.tenantId, tenant.fundingAccountId),
  ]);
  return { ...lines, companyBalanceMinor: company?.balanceMinor ?? Number.NaN, companyHeldMinor: company?.heldMinor ?? Number.NaN };
}

/** The checks of a paid run (each true when it holds). */
export function verdictsOf(check: PayrollCheck, tenant: PayrollTenant, employees: number) {
  return {
    linesAllPaid: check.lines === employees && check.paidLines === employees,
    onePayrollTransferEach: check.wrongCreditCount === 0 && check.payrollTransactions === check.lines,
    walletsHoldTheirNet: check.wrongBalance === 0,
    companyBalanceRight: check.companyBalanceMinor === tenant.fundingMinor - check.totalNetMinor && check.companyHeldMinor === 0,
  };
}
