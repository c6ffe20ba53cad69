import type pg from 'pg';
import { LeaveError } from '../../domain/hr/errors.js';
import { checkAllocation, checkedBalance, sameAllocation } from '../../domain/hr/leave-ledger.js';
import { checkYear } from '../../domain/hr/leave-rules.js';
import type { LeaveLedgerKind } from '../../domain/hr/leave-state.js';
import type { LeaveBalance, LeaveLedgerEntry, NewLedgerRow } from '../../domain/hr/types.js';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { col, pgErrorOf, rowMapper } from '../rows.js';
import { daysColumn, toDays } from './days.js';
import { employeeExists } from './employees.js';

/**
 * The `leave_ledger` table (and its `leave_balances` view): append-only rows (a trigger refuses
 * UPDATE, DELETE and TRUNCATE), one per change to a balance. Balances are always sums of rows
 * (the `leave_balances` view), never a counter that could drift from them.
 */

export { ALLOCATION_DAYS_MAX } from '../../domain/hr/leave-ledger.js';
export type { NewLedgerRow } from '../../domain/hr/types.js';

const ledgerEntry = rowMapper<LeaveLedgerEntry>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  employeeId: col.text('employee_id'),
  leaveType: col.text('leave_type'),
  year: col.int('year'),
  kind: col.of<LeaveLedgerKind>('kind'),
  days: daysColumn('days'),
  leaveRequestId: col.textOrNull('leave_request_id'),
  idempotencyKey: col.text('idempotency_key'),
  createdAt: col.timestamp('created_at'),
});

/**
 * Appends rows in one statement (the caller's transaction decides what commits with them).
 * `skipExistingKeys`: a row whose key is already there is left out instead of failing (and of
 * aborting the caller's transaction); the result then lacks it.
 */
export async function appendLedgerRows(db: Db, rows: NewLedgerRow[], skipExistingKeys = false): Promise<LeaveLedgerEntry[]> {
  if (rows.length === 0) return [];
  const { rows: inserted } = await db.query(
    `INSERT INTO leave_ledger (id, tenant_id, employee_id, leave_type, year, kind, days, leave_request_id, idempotency_key)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS r (id text, tenant_id text, employee_id text, leave_type text,
       year int, kind text, days numeric, leave_request_id text, idempotency_key text)
     ${skipExistingKeys ? 'ON CONFLICT ON CONSTRAINT leave_ledger_idempotency DO NOTHING' : ''}
     RETURNING ${ledgerEntry.columns()}`,
    [JSON.stringify(rows.map((r) => ({
      id: newId('leaveLedgerEntry'), tenant_id: r.tenantId, employee_id: r.employeeId, leave_type: r.leaveType,
      year: r.year, kind: r.kind, days: r.days, leave_request_id: r.leaveRequestId, idempotency_key: r.idempotencyKey,
    })))],
  );
  return inserted.map(ledgerEntry.map);
}

/** The ledger row written with `idempotencyKey`, if any. */
export async function ledgerEntryByKey(db: Db, tenantId: string, idempotencyKey: string): Promise<LeaveLedgerEntry | null> {
  const { rows } = await db.query(`SELECT ${ledgerEntry.columns()} FROM leave_ledger WHERE tenant_id = $1 AND idempotency_key = $2`, [
    tenantId, idempotencyKey,
  ]);
  return rows[0] ? ledgerEntry.map(rows[0]) : null;
}

export interface Allocation {
  tenantId: string;
  employeeId: string;
  leaveType: string;
  year: number;
  days: number;
  /** Default: a fresh key (every call allocates). Pass one to make retries allocate once. */
  idempotencyKey?: string;
}

/**
 * Adds days to an employee's allowance for a leave type and year (one `allocation` row).
 * Unknown employee or leave type: `resource_missing`. A replayed key returns the first row.
 */
export async function allocateLeave(db: Db, input: Allocation): Promise<{ entry: LeaveLedgerEntry; replayed: boolean }> {
  checkAllocation(input);
  const key = input.idempotencyKey ?? newId('leaveLedgerEntry');
  const row: NewLedgerRow = { ...input, kind: 'allocation', leaveRequestId: null, idempotencyKey: key };
  try {
    const [entry] = await appendLedgerRows(db, [row], true);
    if (entry) return { entry, replayed: false };
    // The key was there: it must have written this same allocation.
    return { entry: sameAllocation(await ledgerEntryByKey(db, row.tenantId, row.idempotencyKey), row), replayed: true };
  } catch (err) {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23503' && constraint === 'leave_ledger_employee') throw new LeaveError('resource_missing', `No such employee: ${input.employeeId}`, 'id');
    if (code === '23503' && constraint === 'leave_ledger_leave_type') throw new LeaveError('resource_missing', `No such leave type: ${input.leaveType}`, 'leave_type');
    throw err;
  }
}

/**
 * An employee's balances for a year, one per leave type of the tenant (zeros where nothing was
 * allocated). Unknown employee: `resource_missing`.
 */
export async function leaveBalances(db: Db, tenantId: string, employeeId: string, year: number): Promise<LeaveBalance[]> {
  checkYear(year);
  if (!(await employeeExists(db, tenantId, employeeId))) {
    throw new LeaveError('resource_missing', `No such employee: ${employeeId}`, 'id');
  }
  const { rows } = await db.query(
    `SELECT t.code, coalesce(b.allocated, 0) AS allocated, coalesce(b.used, 0) AS used,
            coalesce(b.reserved, 0) AS reserved, coalesce(b.available, 0) AS available
     FROM leave_types t
     LEFT JOIN (SELECT * FROM leave_balances WHERE tenant_id = $1 AND employee_id = $2 AND year = $3) b ON b.leave_type = t.code
     WHERE t.tenant_id = $1 ORDER BY t.code`,
    [tenantId, employeeId, year],
  );
  return rows.map((r) => checkedBalance({
    leaveType: r.code as string, year, allocatedDays: toDays(r.allocated), usedDays: toDays(r.used),
    reservedDays: toDays(r.reserved), availableDays: toDays(r.available),
  }));
}

/** Days still free to request of one leave type and year (allocated − used − reserved). */
export async function availableDays(
  client: pg.PoolClient,
  key: { tenantId: string; employeeId: string; leaveType: string; year: number },
): Promise<number> {
  const { rows } = await client.query(
    'SELECT available FROM leave_balances WHERE tenant_id = $1 AND employee_id = $2 AND year = $3 AND leave_type = $4',
    [key.tenantId, key.employeeId, key.year, key.leaveType],
  );
  return rows[0] ? toDays(rows[0].available) : 0;
}
