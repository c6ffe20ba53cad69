import type pg from 'pg';
import { LeaveError, LeaveInvariantError } from '../../domain/hr/errors.js';
import type { LeaveLedgerKind } from '../../domain/hr/leave-state.js';
import type { LeaveBalance, LeaveLedgerEntry } from '../../domain/hr/types.js';
import { isHalfDayMultiple } from '../../domain/hr/working-days.js';
import { newId } from '../../domain/ids.js';
import type { Db } from '../../platform/db.js';
import { checkYear, pgErrorOf, toDays } from './rows.js';

/**
 * The leave ledger: append-only rows (a trigger refuses UPDATE, DELETE and TRUNCATE), one per
 * change to a balance. Balances are always sums of rows (the `leave_balances` view), never a
 * counter that could drift from them.
 */

/** More than a year of working days in one allocation is a typo, not a policy. */
export const ALLOCATION_DAYS_MAX = 366;

const LEDGER_COLUMNS = 'id, tenant_id, employee_id, leave_type, year, kind, days, leave_request_id, idempotency_key, created_at';

function toLedgerEntry(row: Record<string, unknown>): LeaveLedgerEntry {
  return {
    id: row.id as string,
    tenantId: row.tenant_id as string,
    employeeId: row.employee_id as string,
    leaveType: row.leave_type as string,
    year: row.year as number,
    kind: row.kind as LeaveLedgerKind,
    days: toDays(row.days),
    leaveRequestId: (row.leave_request_id as string | null) ?? null,
    idempotencyKey: row.idempotency_key as string,
    createdAt: row.created_at as Date,
  };
}

/** A row to append; `idempotencyKey` is unique per tenant: a retried write finds its row instead of adding a second one. */
export type NewLedgerRow = Omit<LeaveLedgerEntry, 'id' | 'createdAt'>;

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
     RETURNING ${LEDGER_COLUMNS}`,
    [JSON.stringify(rows.map((r) => ({
      id: newId('leaveLedgerEntry'), tenant_id: r.tenantId, employee_id: r.employeeId, leave_type: r.leaveType,
      year: r.year, kind: r.kind, days: r.days, leave_request_id: r.leaveRequestId, idempotency_key: r.idempotencyKey,
    })))],
  );
  return inserted.map(toLedgerEntry);
}

/** The ledger row written with `idempotencyKey`, if any. */
export async function ledgerEntryByKey(db: Db, tenantId: string, idempotencyKey: string): Promise<LeaveLedgerEntry | null> {
  const { rows } = await db.query(`SELECT ${LEDGER_COLUMNS} FROM leave_ledger WHERE tenant_id = $1 AND idempotency_key = $2`, [
    tenantId, idempotencyKey,
  ]);
  return rows[0] ? toLedgerEntry(rows[0]) : null;
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

function checkAllocation(input: Allocation): void {
  if (!isHalfDayMultiple(input.days) || input.days <= 0 || input.days > ALLOCATION_DAYS_MAX) {
    throw new LeaveError('parameter_invalid', `days must be a multiple of 0.5 from 0.5 to ${ALLOCATION_DAYS_MAX}.`, 'days');
  }
  checkYear(input.year);
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
    return entry ? { entry, replayed: false } : { entry: await sameAllocation(db, row), replayed: true };
  } catch (err) {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23503' && constraint === 'leave_ledger_employee') throw new LeaveError('resource_missing', `No such employee: ${input.employeeId}`, 'id');
    if (code === '23503' && constraint === 'leave_ledger_leave_type') throw new LeaveError('resource_missing', `No such leave type: ${input.leaveType}`, 'leave_type');
    throw err;
  }
}

async function sameAllocation(db: Db, row: NewLedgerRow): Promise<LeaveLedgerEntry> {
  const entry = await ledgerEntryByKey(db, row.tenantId, row.idempotencyKey);
  const same = entry && entry.kind === 'allocation' && entry.employeeId === row.employeeId
    && entry.leaveType === row.leaveType && entry.year === row.year && entry.days === row.days;
  if (!same) throw new LeaveInvariantError(`leave ledger key ${row.idempotencyKey} was used for another write`);
  return entry;
}

/**
 * An employee's balances for a year, one per leave type of the tenant (zeros where nothing was
 * allocated). Unknown employee: `resource_missing`.
 */
export async function leaveBalances(db: Db, tenantId: string, employeeId: string, year: number): Promise<LeaveBalance[]> {
  checkYear(year);
  const { rows: found } = await db.query('SELECT 1 FROM employees WHERE tenant_id = $1 AND id = $2', [tenantId, employeeId]);
  if (!found[0]) throw new LeaveError('resource_missing', `No such employee: ${employeeId}`, 'id');
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

/** Reservations and usage are never negative: every release and return follows its reservation or use. */
function checkedBalance(balance: LeaveBalance): LeaveBalance {
  const { allocatedDays, usedDays, reservedDays, availableDays: available } = balance;
  if (reservedDays < 0 || usedDays < 0 || available !== allocatedDays - usedDays - reservedDays) {
    throw new LeaveInvariantError(`leave balance out of shape: ${JSON.stringify(balance)}`);
  }
  return balance;
}
