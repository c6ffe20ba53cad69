import { describe, expect, it } from 'vitest';
import { LeaveError } from './errors.js';
import { checkTerminationDate, TERMINATION_AHEAD_MAX_DAYS } from './termination.js';

const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    return err instanceof LeaveError ? { code: err.code, param: err.param } : err;
  }
  return null;
};

describe('checkTerminationDate', () => {
  const hire = '2024-03-01';
  const today = '2026-11-30';

  it('takes the hire date itself, a past date and today', () => {
    for (const date of [hire, '2025-12-31', today]) expect(refusal(() => checkTerminationDate(date, hire, today))).toBeNull();
  });

  it('refuses a date that is not one, a day before the hire date, and one too far ahead', () => {
    const invalid = { code: 'parameter_invalid', param: 'termination_date' };
    for (const date of ['2026-02-30', '2026-1-1', '', '2024-02-29T00:00']) expect(refusal(() => checkTerminationDate(date, hire, today))).toEqual(invalid);
    expect(refusal(() => checkTerminationDate('2024-02-29', hire, today))).toEqual(invalid);
    const lastAllowed = new Date(Date.parse(`${today}T00:00:00Z`) + TERMINATION_AHEAD_MAX_DAYS * 86_400_000).toISOString().slice(0, 10);
    expect(refusal(() => checkTerminationDate(lastAllowed, hire, today))).toBeNull();
    const dayAfter = new Date(Date.parse(`${lastAllowed}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    expect(refusal(() => checkTerminationDate(dayAfter, hire, today))).toEqual(invalid);
  });
});
