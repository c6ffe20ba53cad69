import type pg from 'pg';
import { PayrollError } from '../../domain/payroll/errors.js';
import type { PayrollRunStatus, RunCalculation } from '../../domain/payroll/run.js';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { assertInTransaction, col, pgErrorOf, rowMapper } from '../rows.js';
import { insertPayrollLines } from './lines.js';

/**
 * The `payroll_runs` table (schema/0021): a run's state, moved only by its workflow's activities
 * (workflows/payroll/payroll-run.ts), each move guarded by the status it leaves, so a retried
 * activity or a replayed workflow finds the move made and changes nothing.
 */

export interface PayrollRun {
  id: string;
  tenantId: string;
  period: string;
  payDate: string;
  fundingAccountId: string;
  status: PayrollRunStatus;
  grossMinor: number;
  taxMinor: number;
  contributionsMinor: number;
  netMinor: number;
  linesCount: number;
  paidCount: number;
  failedCount: number;
  createdBy: string;
  approvedBy: string | null;
  approvedAt: Date | null;
  cancelledBy: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  payingStartedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const run = rowMapper<PayrollRun>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  period: col.text('period'),
  payDate: col.date('pay_date'),
  fundingAccountId: col.text('funding_account_id'),
  status: col.of<PayrollRunStatus>('status'),
  grossMinor: col.int('gross'),
  taxMinor: col.int('tax'),
  contributionsMinor: col.int('contributions'),
  netMinor: col.int('net'),
  linesCount: col.int('lines_count'),
  // Counted from the lines on read (their primary key's range): never a counter to keep in step.
  paidCount: { names: ['paid_count'], select: (alias) => lineCount(alias, 'paid'), read: (row) => row.paid_count as number },
  failedCount: { names: ['failed_count'], select: (alias) => lineCount(alias, 'failed'), read: (row) => row.failed_count as number },
  createdBy: col.text('created_by'),
  approvedBy: col.textOrNull('approved_by'),
  approvedAt: col.timestampOrNull('approved_at'),
  cancelledBy: col.textOrNull('cancelled_by'),
  failureCode: col.textOrNull('failure_code'),
  failureMessage: col.textOrNull('failure_message'),
  payingStartedAt: col.timestampOrNull('paying_started_at'),
  createdAt: col.timestamp('created_at'),
  updatedAt: col.timestamp('updated_at'),
});

function lineCount(alias: string | undefined, status: 'paid' | 'failed'): string {
  const id = alias ? `${alias}.id` : 'payroll_runs.id';
  return `(SELECT count(*)::int FROM payroll_lines l WHERE l.run_id = ${id} AND l.status = '${status}') AS ${status}_count`;
}

export interface NewPayrollRun {
  tenantId: string;
  period: string;
  payDate: string;
  fundingAccountId: string;
  createdBy: string;
}

/** A live run of the tenant for the period already: `resource_exists` (param `period`). */
export async function insertPayrollRun(db: Db, input: NewPayrollRun): Promise<PayrollRun> {
  try {
    const { rows } = await db.query(
      `INSERT INTO payroll_runs (id, tenant_id, period, pay_date, funding_account_id, created_by)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${run.columns()}`,
      [newId('payrollRun'), input.tenantId, input.period, input.payDate, input.fundingAccountId, input.createdBy],
    );
    return run.map(rows[0]);
  } catch (err) {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23505' && constraint === 'payroll_runs_period_unique') {
      throw new PayrollError('resource_exists', `A payroll run for ${input.period} exists already (cancel it first, or wait for it to fail).`, 'period');
    }
    throw err;
  }
}

export async function findPayrollRun(db: Db, tenantId: string, runId: string): Promise<PayrollRun | null> {
  const { rows } = await db.query(`SELECT ${run.columns()} FROM payroll_runs WHERE tenant_id = $1 AND id = $2`, [tenantId, runId]);
  return rows[0] ? run.map(rows[0]) : null;
}

/** The run, locked for its move (a caller's transaction); another tenant's or none: `resource_missing`. */
export async function lockPayrollRun(client: pg.PoolClient, tenantId: string, runId: string): Promise<PayrollRun> {
  assertInTransaction(client, 'lockPayrollRun');
  const { rows } = await client.query(`SELECT ${run.columns()} FROM payroll_runs WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`, [tenantId, runId]);
  if (!rows[0]) throw new PayrollError('resource_missing', `No such payroll run: ${runId}`, 'id');
  return run.map(rows[0]);
}

/** The tenant's runs, newest first. */
export async function listPayrollRuns(db: Db, tenantId: string, page: PageQuery & { period?: string | undefined }): Promise<ListPage<PayrollRun>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${run.columns('r')} FROM payroll_runs r
     WHERE r.tenant_id = $1 AND ($2::text IS NULL OR r.id < $2) AND ($3::text IS NULL OR r.period = $3)
     ORDER BY r.id DESC LIMIT $4`,
    [tenantId, page.startingAfter ?? null, page.period ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, run.map);
}

/**
 * Moves the run from one of `from` to `to` with `set` (column = value); returns whether it moved.
 * Not moving is how a repeat learns the move was made (or the run went elsewhere meanwhile).
 */
export async function moveRun(
  db: Db, tenantId: string, runId: string, from: readonly PayrollRunStatus[], to: PayrollRunStatus,
  set: Partial<Record<'approved_by' | 'cancelled_by' | 'failure_code' | 'failure_message', string | null>> = {},
): Promise<boolean> {
  const columns = Object.keys(set);
  const assignments = columns.map((c, i) => `, ${c} = $${i + 5}`).join('');
  const approved = 'approved_by' in set ? ', approved_at = now()' : '';
  const { rowCount } = await db.query(
    `UPDATE payroll_runs SET status = $4, updated_at = now()${assignments}${approved}
     WHERE tenant_id = $1 AND id = $2 AND status = ANY($3::text[])`,
    [tenantId, runId, from, to, ...columns.map((c) => set[c as keyof typeof set])],
  );
  return rowCount === 1;
}

/**
 * Writes a calculation: the lines and the totals (→ `awaiting_approval`), or why none (→ `failed`).
 * Once: a run no longer `calculating` is left as it is (a retried activity after its commit).
 */
export async function writeCalculation(client: pg.PoolClient, tenantId: string, runId: string, calc: RunCalculation): Promise<PayrollRunStatus> {
  const current = await lockPayrollRun(client, tenantId, runId);
  if (current.status !== 'calculating') return current.status;
  if (!calc.ok) {
    await moveRun(client, tenantId, runId, ['calculating'], 'failed', { failure_code: calc.code, failure_message: calc.message });
    return 'failed';
  }
  await insertPayrollLines(client, { tenantId, runId, period: current.period }, calc.lines);
  await client.query(
    `UPDATE payroll_runs SET status = 'awaiting_approval', gross = $3, tax = $4, contributions = $5, net = $6, lines_count = $7, updated_at = now()
     WHERE tenant_id = $1 AND id = $2`,
    [tenantId, runId, calc.totals.grossMinor, calc.totals.taxMinor, calc.totals.contributionsMinor, calc.totals.netMinor, calc.lines.length],
  );
  return 'awaiting_approval';
}
