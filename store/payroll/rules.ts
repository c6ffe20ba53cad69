import { checkPayrollRules, type Contribution, type PayrollRules, type TaxBracket } from '../../domain/payroll/rules.js';
import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `payroll_rules` table: one row per tenant and country. The brackets and contributions are
 * stored in the API's spelling (`up_to`, `rate_bps`, `cap`) as jsonb and read back into the
 * domain's (domain/payroll/rules.ts), checked on the way in.
 */

export interface CountryPayrollRules extends PayrollRules {
  tenantId: string;
  country: string;
  createdAt: Date;
  updatedAt: Date;
}

interface StoredBracket { up_to: number | null; rate_bps: number }
interface StoredContribution { code: string; rate_bps: number; cap: number | null }

const rules = rowMapper<CountryPayrollRules>({
  tenantId: col.text('tenant_id'),
  country: col.text('country'),
  currency: col.text('currency'),
  taxBrackets: col.custom('tax_brackets', (v) => (v as StoredBracket[]).map((b): TaxBracket => ({ upToMinor: b.up_to, rateBps: b.rate_bps }))),
  contributions: col.custom('contributions', (v) =>
    (v as StoredContribution[]).map((c): Contribution => ({ code: c.code, rateBps: c.rate_bps, capMinor: c.cap }))),
  createdAt: col.timestamp('created_at'),
  updatedAt: col.timestamp('updated_at'),
});

/** Creates or replaces a country's rules (refused by checkPayrollRules first: `parameter_invalid`). */
export async function putPayrollRules(
  db: Db, input: PayrollRules & { tenantId: string; country: string },
): Promise<{ rules: CountryPayrollRules; created: boolean }> {
  checkPayrollRules(input);
  const brackets: StoredBracket[] = input.taxBrackets.map((b) => ({ up_to: b.upToMinor, rate_bps: b.rateBps }));
  const contributions: StoredContribution[] = input.contributions.map((c) => ({ code: c.code, rate_bps: c.rateBps, cap: c.capMinor }));
  const { rows } = await db.query(
    `INSERT INTO payroll_rules (tenant_id, country, currency, tax_brackets, contributions)
     VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)
     ON CONFLICT (tenant_id, country) DO UPDATE SET currency = EXCLUDED.currency, tax_brackets = EXCLUDED.tax_brackets,
       contributions = EXCLUDED.contributions, updated_at = now()
     RETURNING ${rules.columns()}, (xmax = 0) AS created`,
    [input.tenantId, input.country, input.currency, JSON.stringify(brackets), JSON.stringify(contributions)],
  );
  return { rules: rules.map(rows[0]), created: rows[0].created as boolean };
}

export async function findPayrollRules(db: Db, tenantId: string, country: string): Promise<CountryPayrollRules | null> {
  const { rows } = await db.query(`SELECT ${rules.columns()} FROM payroll_rules WHERE tenant_id = $1 AND country = $2`, [tenantId, country]);
  return rows[0] ? rules.map(rows[0]) : null;
}

/** Every country's rules of a tenant (a payroll run reads them once). */
export async function findAllPayrollRules(db: Db, tenantId: string): Promise<CountryPayrollRules[]> {
  const { rows } = await db.query(`SELECT ${rules.columns()} FROM payroll_rules WHERE tenant_id = $1`, [tenantId]);
  return rows.map(rules.map);
}
