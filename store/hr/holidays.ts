import { checkCountry } from '../../domain/hr/employees.js';
import { LeaveError } from '../../domain/hr/errors.js';
import { checkYear } from '../../domain/hr/leave-rules.js';
import type { Holiday } from '../../domain/hr/types.js';
import { dayNumberOf } from '../../domain/hr/working-days.js';
import type { Db } from '../db.js';
import { col, isoDateColumn, pgErrorOf, rowMapper } from '../rows.js';

/**
 * The `holidays` table: a tenant's public holidays. A holiday without a country is off for
 * everyone; one with a country only for the employees of that country.
 */

/** A year has at most 366 dates; per country that bounds any sane calendar. */
export const HOLIDAYS_LIST_MAX = 1000;

const holiday = rowMapper<Holiday>({
  tenantId: col.text('tenant_id'),
  date: col.date('date'),
  name: col.text('name'),
  country: col.textOrNull('country'),
});

/** The same date twice for the same country (or twice globally): `resource_exists`. */
export async function insertHoliday(
  db: Db,
  input: { tenantId: string; date: string; name: string; country?: string | null },
): Promise<Holiday> {
  dayNumberOf(input.date, 'date');
  checkCountry(input.country);
  try {
    const { rows } = await db.query(
      `INSERT INTO holidays (tenant_id, date, name, country) VALUES ($1, $2, $3, $4) RETURNING ${holiday.columns()}`,
      [input.tenantId, input.date, input.name, input.country ?? null],
    );
    return holiday.map(rows[0]);
  } catch (err) {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23505' && constraint === 'holidays_unique') {
      throw new LeaveError('resource_exists', `A holiday on ${input.date} already exists${input.country ? ` for ${input.country}` : ''}.`, 'date');
    }
    throw err;
  }
}

/**
 * The holidays of a year, by date. With a country: the ones its employees get (the global
 * ones and the country's); without: all of them.
 */
export async function listHolidays(db: Db, tenantId: string, filter: { year: number; country?: string | null }): Promise<Holiday[]> {
  checkYear(filter.year);
  checkCountry(filter.country);
  const { rows } = await db.query(
    `SELECT ${holiday.columns()} FROM holidays
     WHERE tenant_id = $1 AND date BETWEEN make_date($2, 1, 1) AND make_date($2, 12, 31)
       AND ($3::text IS NULL OR country IS NULL OR country = $3)
     ORDER BY holidays.date, country NULLS FIRST LIMIT $4`,
    [tenantId, filter.year, filter.country ?? null, HOLIDAYS_LIST_MAX],
  );
  return rows.map(holiday.map);
}

/** The dates off for an employee of `country` (null: global holidays only) in [startDate, endDate]. */
export async function holidayDatesFor(
  db: Db,
  tenantId: string,
  range: { startDate: string; endDate: string; country: string | null },
): Promise<Set<string>> {
  const { rows } = await db.query(
    `SELECT DISTINCT ${isoDateColumn('date', 'date')} FROM holidays
     WHERE tenant_id = $1 AND date BETWEEN $2 AND $3 AND (country IS NULL OR country = $4)`,
    [tenantId, range.startDate, range.endDate, range.country],
  );
  return new Set(rows.map((r) => r.date as string));
}
