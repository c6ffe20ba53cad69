import { z } from '@hono/zod-openapi';
import type { Compensation } from '../../store/payroll/compensations.js';
import type { CountryPayrollRules } from '../../store/payroll/rules.js';

export const CompensationBody = z
  .object({
    id: z.string(), object: z.literal('compensation'), employee_id: z.string(), effective_date: z.string(),
    annual_salary: z.number().int(), currency: z.string(), created_at: z.string(),
  })
  .openapi('Compensation');

export const serializeCompensation = (c: Compensation): z.infer<typeof CompensationBody> => ({
  id: c.id, object: 'compensation', employee_id: c.employeeId, effective_date: c.effectiveDate,
  annual_salary: c.annualSalaryMinor, currency: c.currency, created_at: c.createdAt.toISOString(),
});

export const PayrollRulesBody = z
  .object({
    object: z.literal('payroll_rules'), country: z.string(), currency: z.string(),
    tax_brackets: z.array(z.object({ up_to: z.number().int().nullable(), rate_bps: z.number().int() })),
    contributions: z.array(z.object({ code: z.string(), rate_bps: z.number().int(), cap: z.number().int().nullable() })),
    created_at: z.string(), updated_at: z.string(),
  })
  .openapi('PayrollRules');

export const serializePayrollRules = (r: CountryPayrollRules): z.infer<typeof PayrollRulesBody> => ({
  object: 'payroll_rules', country: r.country, currency: r.currency,
  tax_brackets: r.taxBrackets.map((b) => ({ up_to: b.upToMinor, rate_bps: b.rateBps })),
  contributions: r.contributions.map((c) => ({ code: c.code, rate_bps: c.rateBps, cap: c.capMinor })),
  created_at: r.createdAt.toISOString(), updated_at: r.updatedAt.toISOString(),
});
