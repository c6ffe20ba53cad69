import { z } from '@hono/zod-openapi';
import { EMPLOYEE_STATUSES, type Employee, type Holiday, type LeaveBalance, type LeaveRequest, type LeaveType, type Report } from '../../domain/hr/types.js';

export const EmployeeBody = z
  .object({
    id: z.string(), object: z.literal('employee'), employee_number: z.string(), first_name: z.string(), last_name: z.string(),
    email: z.string(), department: z.string(), manager_id: z.string().nullable(), hire_date: z.string(),
    country: z.string().nullable(), status: z.enum(EMPLOYEE_STATUSES), wallet_account_id: z.string().nullable(),
    termination_date: z.string().nullable().openapi({ description: 'The last day employed (inclusive); null: no termination scheduled.' }),
    termination_reason: z.string().nullable(),
    created_at: z.string(), depth: z.number().int().optional(),
  })
  .openapi('Employee');

export function serializeEmployee(e: Employee | Report): z.infer<typeof EmployeeBody> {
  return {
    id: e.id, object: 'employee', employee_number: e.employeeNumber, first_name: e.firstName, last_name: e.lastName,
    email: e.email, department: e.department, manager_id: e.managerId, hire_date: e.hireDate, country: e.country,
    status: e.status, wallet_account_id: e.walletAccountId, termination_date: e.terminationDate, termination_reason: e.terminationReason,
    created_at: e.createdAt.toISOString(), ...('depth' in e ? { depth: e.depth } : {}),
  };
}

export const LeaveRequestBody = z
  .object({
    id: z.string(), object: z.literal('leave_request'), employee_id: z.string(), leave_type: z.string(), start_date: z.string(),
    end_date: z.string(), half_day: z.enum(['am', 'pm']).nullable(), days: z.number(), reason: z.string().nullable(),
    status: z.string(), approver_id: z.string().nullable(), history: z.array(z.record(z.string(), z.unknown())),
    created_at: z.string(), updated_at: z.string(),
  })
  .openapi('LeaveRequest');

export function serializeLeaveRequest(r: LeaveRequest): z.infer<typeof LeaveRequestBody> {
  return {
    id: r.id, object: 'leave_request', employee_id: r.employeeId, leave_type: r.leaveType, start_date: r.startDate,
    end_date: r.endDate, half_day: r.halfDay, days: r.days, reason: r.reason, status: r.status, approver_id: r.approverId,
    // The idempotency keys are internal bookkeeping of retried steps.
    history: r.history.map(({ idempotency_key: _key, ...entry }) => entry),
    created_at: r.createdAt.toISOString(), updated_at: r.updatedAt.toISOString(),
  };
}

export const LeaveBalanceBody = z
  .object({ leave_type: z.string(), year: z.number().int(), allocated: z.number(), used: z.number(), reserved: z.number(), available: z.number() })
  .openapi('LeaveBalance');

export const serializeBalance = (b: LeaveBalance): z.infer<typeof LeaveBalanceBody> => ({
  leave_type: b.leaveType, year: b.year, allocated: b.allocatedDays, used: b.usedDays, reserved: b.reservedDays, available: b.availableDays,
});

export const LeaveTypeBody = z
  .object({
    object: z.literal('leave_type'), code: z.string(), name: z.string(), allow_half_day: z.boolean(), max_consecutive_days: z.number().nullable(),
    annual_days: z.number().nullable(), unpaid: z.boolean(),
  })
  .openapi('LeaveType');

export const serializeLeaveType = (t: LeaveType): z.infer<typeof LeaveTypeBody> => ({
  object: 'leave_type', code: t.code, name: t.name, allow_half_day: t.allowHalfDay, max_consecutive_days: t.maxConsecutiveDays,
  annual_days: t.annualDays, unpaid: t.unpaid,
});

export const HolidayBody = z
  .object({ object: z.literal('holiday'), date: z.string(), name: z.string(), country: z.string().nullable() })
  .openapi('Holiday');

export const serializeHoliday = (h: Holiday): z.infer<typeof HolidayBody> => ({ object: 'holiday', date: h.date, name: h.name, country: h.country });
