import { LeaveError } from '../../domain/hr/errors.js';
import type { LeaveType } from '../../domain/hr/types.js';
import { isHalfDayMultiple } from '../../domain/hr/working-days.js';
import type { Db } from '../../platform/db.js';
import { toDays } from './rows.js';

/** A tenant's leave types (annual, sick, …): what each allows. */

const CODE = /^[A-Za-z0-9_-]{1,64}$/;
const LEAVE_TYPE_COLUMNS = 'tenant_id, code, name, allow_half_day, max_consecutive_days, created_at, updated_at';

function toLeaveType(row: Record<string, unknown>): LeaveType {
  return {
    tenantId: row.tenant_id as string,
    code: row.code as string,
    name: row.name as string,
    allowHalfDay: row.allow_half_day as boolean,
    maxConsecutiveDays: row.max_consecutive_days == null ? null : toDays(row.max_consecutive_days),
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}

export interface LeaveTypeInput {
  tenantId: string;
  code: string;
  name: string;
  /** Default true: half days are the common case for annual leave. */
  allowHalfDay?: boolean;
  /** Working days one request may take at most; null or omitted: no limit. */
  maxConsecutiveDays?: number | null;
}

/**
 * Creates the leave type, or replaces the one with the same code (omitted fields take their
 * defaults). Requests already made keep the days they were counted with.
 */
export async function upsertLeaveType(db: Db, input: LeaveTypeInput): Promise<{ leaveType: LeaveType; created: boolean }> {
  if (!CODE.test(input.code)) {
    throw new LeaveError('parameter_invalid', 'code must be 1 to 64 letters, digits, "_" or "-".', 'code');
  }
  const max = input.maxConsecutiveDays ?? null;
  if (max !== null && (!isHalfDayMultiple(max) || max <= 0 || max > 366)) {
    throw new LeaveError('parameter_invalid', 'max_consecutive_days must be a multiple of 0.5 from 0.5 to 366.', 'max_consecutive_days');
  }
  const { rows } = await db.query(
    `INSERT INTO leave_types (tenant_id, code, name, allow_half_day, max_consecutive_days) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, code) DO UPDATE SET name = EXCLUDED.name, allow_half_day = EXCLUDED.allow_half_day,
       max_consecutive_days = EXCLUDED.max_consecutive_days, updated_at = now()
     RETURNING ${LEAVE_TYPE_COLUMNS}, (xmax = 0) AS created`,
    [input.tenantId, input.code, input.name, input.allowHalfDay ?? true, max],
  );
  return { leaveType: toLeaveType(rows[0]), created: rows[0].created as boolean };
}

export async function findLeaveType(db: Db, tenantId: string, code: string): Promise<LeaveType | null> {
  const { rows } = await db.query(`SELECT ${LEAVE_TYPE_COLUMNS} FROM leave_types WHERE tenant_id = $1 AND code = $2`, [tenantId, code]);
  return rows[0] ? toLeaveType(rows[0]) : null;
}
