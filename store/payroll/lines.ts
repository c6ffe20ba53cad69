import type pg from 'pg';
import type { PayrollLineStatus, RunLine } from '../../domain/payroll/run.js';
import type { Db } from '../db.js';
import { daysColumn } from '../hr/days.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';

/** The `payroll_lines` table (schema/0021): one employee's pay in one run. */

export interface StoredPayrollLine {
  runId: string;
  employeeId: string;
  seq: number;
  currency: string;
  proratedGrossMinor: number;
  unpaidDays: number;
  unpaidDeductionMinor: number;
  leavePayoutDays: number;
  leavePayoutMinor: number;
  grossMinor: number;
  taxMinor: number;
  contributions: { code: string; amountMinor: number }[];
  contributionsMinor: number;
  netMinor: number;
  status: PayrollLineStatus;
  holdId: string | null;
  transferId: string | null;
  failureCode: string | null;
  paidAt: Date | null;
}

interface StoredContribution { code: string; amount: number }

const line = rowMapper<StoredPayrollLine>({
  runId: col.text('run_id'),
  employeeId: col.text('employee_id'),
  seq: col.int('seq'),
  currency: col.text('currency'),
  proratedGrossMinor: col.int('prorated_gross'),
  unpaidDays: daysColumn('unpaid_days'),
  unpaidDeductionMinor: col.int('unpaid_deduction'),
  leavePayoutDays: daysColumn('leave_payout_days'),
  leavePayoutMinor: col.int('leave_payout'),
  grossMinor: col.int('gross'),
  taxMinor: col.int('tax'),
  contributions: col.custom('contributions', (v) => (v as StoredContribution[]).map((c) => ({ code: c.code, amountMinor: c.amount }))),
  contributionsMinor: col.int('contributions_total'),
  netMinor: col.int('net'),
  status: col.of<PayrollLineStatus>('status'),
  holdId: col.textOrNull('hold_id'),
  transferId: col.textOrNull('transfer_id'),
  failureCode: col.textOrNull('failure_code'),
  paidAt: col.timestampOrNull('paid_at'),
});

/** Lines per INSERT statement (the parameters are arrays: one statement per chunk, whatever its size). */
const INSERT_CHUNK = 2_000;

/** A run's lines, in one statement per INSERT_CHUNK lines (the caller's transaction). */
export async function insertPayrollLines(
  client: pg.PoolClient, run: { tenantId: string; runId: string; period: string }, lines: readonly RunLine[],
): Promise<void> {
  for (let i = 0; i < lines.length; i += INSERT_CHUNK) {
    const chunk = lines.slice(i, i + INSERT_CHUNK);
    const column = <K extends keyof RunLine>(k: K) => chunk.map((l) => l[k]);
    await client.query(
      `INSERT INTO payroll_lines (run_id, tenant_id, period, employee_id, seq, currency, prorated_gross, unpaid_days, unpaid_deduction,
                                  leave_payout_days, leave_payout, gross, tax, contributions, contributions_total, net)
       SELECT $1::text, $2::text, $3::text, l.* FROM unnest($4::text[], $5::int[], $6::text[], $7::bigint[], $8::numeric[], $9::bigint[],
                                          $10::numeric[], $11::bigint[], $12::bigint[], $13::bigint[], $14::jsonb[], $15::bigint[], $16::bigint[])
         AS l(employee_id, seq, currency, prorated_gross, unpaid_days, unpaid_deduction, leave_payout_days, leave_payout, gross, tax,
              contributions, contributions_total, net)`,
      [
        run.runId, run.tenantId, run.period, column('employeeId'), column('seq'), column('currency'), column('proratedGrossMinor'),
        column('unpaidDays'), column('unpaidDeductionMinor'), column('leavePayoutDays'), column('leavePayoutMinor'), column('grossMinor'),
        column('taxMinor'), chunk.map((l) => JSON.stringify(l.contributions.map((c) => ({ code: c.code, amount: c.amountMinor })))),
        column('contributionsMinor'), column('netMinor'),
      ],
    );
  }
}

/** A run's lines in employee id order; `startingAfter` is the last employee id of the previous page. */
export async function listPayrollLines(
  db: Db, tenantId: string, runId: string, page: PageQuery & { status?: PayrollLineStatus | undefined },
): Promise<ListPage<StoredPayrollLine>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${line.columns()} FROM payroll_lines
     WHERE tenant_id = $1 AND run_id = $2 AND ($3::text IS NULL OR employee_id > $3) AND ($4::text IS NULL OR status = $4)
     ORDER BY employee_id LIMIT $5`,
    [tenantId, runId, page.startingAfter ?? null, page.status ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, line.map);
}

export async function findPayrollLine(db: Db, tenantId: string, runId: string, employeeId: string): Promise<StoredPayrollLine | null> {
  const { rows } = await db.query(
    `SELECT ${line.columns()} FROM payroll_lines WHERE tenant_id = $1 AND run_id = $2 AND employee_id = $3`, [tenantId, runId, employeeId],
  );
  return rows[0] ? line.map(rows[0]) : null;
}
