import { checkLeaveType } from '../../domain/hr/leave-rules.js';
import type { LeaveType } from '../../domain/hr/types.js';
import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';
import { daysOrNullColumn } from './days.js';

/** The `leave_types` table: a tenant's leave types (annual, sick, …) and what each allows. */

const leaveType = rowMapper<LeaveType>({
  tenantId: col.text('tenant_id'),
  code: col.text('code'),
  name: col.text('name'),
  allowHalfDay: col.bool('allow_half_day'),
  maxConsecutiveDays: daysOrNullColumn('max_consecutive_days'),
  annualDays: daysOrNullColumn('annual_days'),
  unpaid: col.bool('unpaid'),
  createdAt: col.timestamp('created_at'),
  updatedAt: col.timestamp('updated_at'),
});

export interface LeaveTypeInput {
  tenantId: string;
  code: string;
  name: string;
  /** Default true: half days are the common case for annual leave. */
  allowHalfDay?: boolean;
  /** Working days one request may take at most; null or omitted: no limit. */
  maxConsecutiveDays?: number | null;
  /** Days for a full year, allocated pro rata on hire; null or omitted: none. */
  annualDays?: number | null;
  /** Default false: days taken are paid. */
  unpaid?: boolean;
}

/**
 * Creates the leave type, or replaces the one with the same code (omitted fields take their
 * defaults). Requests already made keep the days they were counted with.
 */
export async function upsertLeaveType(db: Db, input: LeaveTypeInput): Promise<{ leaveType: LeaveType; created: boolean }> {
  const max = input.maxConsecutiveDays ?? null;
  const annual = input.annualDays ?? null;
  checkLeaveType({ code: input.code, maxConsecutiveDays: max, annualDays: annual });
  const { rows } = await db.query(
    `INSERT INTO leave_types (tenant_id, code, name, allow_half_day, max_consecutive_days, annual_days, unpaid)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (tenant_id, code) DO UPDATE SET name = EXCLUDED.name, allow_half_day = EXCLUDED.allow_half_day,
       max_consecutive_days = EXCLUDED.max_consecutive_days, annual_days = EXCLUDED.annual_days, unpaid = EXCLUDED.unpaid,
       updated_at = now()
     RETURNING ${leaveType.columns()}, (xmax = 0) AS created`,
    [input.tenantId, input.code, input.name, input.allowHalfDay ?? true, max, annual, input.unpaid ?? false],
  );
  return { leaveType: leaveType.map(rows[0]), created: rows[0].created as boolean };
}

export async function findLeaveType(db: Db, tenantId: string, code: string): Promise<LeaveType | null> {
  const { rows } = await db.query(`SELECT ${leaveType.columns()} FROM leave_types WHERE tenant_id = $1 AND code = $2`, [tenantId, code]);
  return rows[0] ? leaveType.map(rows[0]) : null;
}

/** The tenant's leave types that allocate on hire (`annual_days` set), by code. */
export async function leaveTypesWithAnnualDays(db: Db, tenantId: string): Promise<LeaveType[]> {
  const { rows } = await db.query(
    `SELECT ${leaveType.columns()} FROM leave_types WHERE tenant_id = $1 AND annual_days IS NOT NULL ORDER BY code`,
    [tenantId],
  );
  return rows.map(leaveType.map);
}
