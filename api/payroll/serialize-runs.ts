import { z } from '@hono/zod-openapi';
import type { Employee } from '../../domain/hr/types.js';
import { LINE_STATUSES, RUN_STATUSES } from '../../domain/payroll/run.js';
import type { StoredPayrollLine } from '../../store/payroll/lines.js';
import type { PayrollRun } from '../../store/payroll/runs.js';

/** The payroll run, its lines and payslips as the API answers them (contract §9). */

export const PayrollRunBody = z
  .object({
    id: z.string(), object: z.literal('payroll_run'), status: z.enum(RUN_STATUSES), period: z.string(), pay_date: z.string(),
    funding_account_id: z.string(),
    totals: z.object({ gross: z.number().int(), tax: z.number().int(), contributions: z.number().int(), net: z.number().int() }),
    lines_count: z.number().int(), lines_paid: z.number().int(), lines_failed: z.number().int(),
    created_by: z.string(), approved_by: z.string().nullable(), approved_at: z.string().nullable(), cancelled_by: z.string().nullable(),
    failure_code: z.string().nullable(), failure_message: z.string().nullable(), created_at: z.string(), updated_at: z.string(),
  })
  .openapi('PayrollRun');

export const serializePayrollRun = (r: PayrollRun): z.infer<typeof PayrollRunBody> => ({
  id: r.id, object: 'payroll_run', status: r.status, period: r.period, pay_date: r.payDate, funding_account_id: r.fundingAccountId,
  totals: { gross: r.grossMinor, tax: r.taxMinor, contributions: r.contributionsMinor, net: r.netMinor },
  lines_count: r.linesCount, lines_paid: r.paidCount, lines_failed: r.failedCount,
  created_by: r.createdBy, approved_by: r.approvedBy, approved_at: r.approvedAt?.toISOString() ?? null, cancelled_by: r.cancelledBy,
  failure_code: r.failureCode, failure_message: r.failureMessage, created_at: r.createdAt.toISOString(), updated_at: r.updatedAt.toISOString(),
});

const lineFields = {
  employee_id: z.string(), currency: z.string(), gross: z.number().int(), tax: z.number().int(),
  contributions: z.array(z.object({ code: z.string(), amount: z.number().int() })), net: z.number().int(),
  unpaid_days: z.number(), leave_payout: z.number().int(), status: z.enum(LINE_STATUSES),
  transfer_id: z.string().nullable(), failure_code: z.string().nullable(),
};

export const PayrollLineBody = z
  .object({
    object: z.literal('payroll_line'), run_id: z.string(), ...lineFields,
    prorated_gross: z.number().int().openapi({ description: 'Salary for the days employed in the period, before unpaid leave.' }),
    unpaid_deduction: z.number().int(), leave_payout_days: z.number(), paid_at: z.string().nullable(),
  })
  .openapi('PayrollLine');

function lineBody(l: StoredPayrollLine) {
  return {
    employee_id: l.employeeId, currency: l.currency, gross: l.grossMinor, tax: l.taxMinor,
    contributions: l.contributions.map((c) => ({ code: c.code, amount: c.amountMinor })), net: l.netMinor,
    unpaid_days: l.unpaidDays, leave_payout: l.leavePayoutMinor, status: l.status, transfer_id: l.transferId, failure_code: l.failureCode,
  };
}

export const serializePayrollLine = (l: StoredPayrollLine): z.infer<typeof PayrollLineBody> => ({
  object: 'payroll_line', run_id: l.runId, ...lineBody(l), prorated_gross: l.proratedGrossMinor, unpaid_deduction: l.unpaidDeductionMinor,
  leave_payout_days: l.leavePayoutDays, paid_at: l.paidAt?.toISOString() ?? null,
});

export const PayslipJsonBody = z
  .object({
    object: z.literal('payslip'), run_id: z.string(), period: z.string(), pay_date: z.string(), ...lineFields,
    employee: z.object({
      id: z.string(), employee_number: z.string(), first_name: z.string(), last_name: z.string(), email: z.string(), department: z.string(),
    }),
  })
  .openapi('Payslip');

/** The line's fields plus `employee` and `period` (contract §9). */
export const payslipOf = (run: PayrollRun, l: StoredPayrollLine, e: Employee): z.infer<typeof PayslipJsonBody> => ({
  object: 'payslip', run_id: run.id, period: run.period, pay_date: run.payDate, ...lineBody(l),
  employee: {
    id: e.id, employee_number: e.employeeNumber, first_name: e.firstName, last_name: e.lastName, email: e.email, department: e.department,
  },
});
