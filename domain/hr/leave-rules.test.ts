import { describe, expect, it } from 'vitest';
import { leaveDaysFor } from './leave-rules.js';

const NONE = new Set<string>();
const OPEN = { allowHalfDay: true, maxConsecutiveDays: null };

describe('leaveDaysFor', () => {
  it('counts the days and charges the start year', () => {
    expect(leaveDaysFor({ startDate: '2025-01-06', endDate: '2025-01-10', holidays: NONE, rules: OPEN })).toEqual({ days: 5, year: 2025 });
  });

  it('refuses a half day when the leave type does not allow it', () => {
    expect(() => leaveDaysFor({ startDate: '2025-01-07', endDate: '2025-01-07', halfDay: 'pm', holidays: NONE, rules: { ...OPEN, allowHalfDay: false } }))
      .toThrow(expect.objectContaining({ code: 'parameter_invalid', param: 'half_day' }));
  });

  it('refuses more working days than the leave type allows in one request', () => {
    const rules = { allowHalfDay: true, maxConsecutiveDays: 4 };
    expect(leaveDaysFor({ startDate: '2025-01-06', endDate: '2025-01-10', holidays: new Set(['2025-01-08']), rules }).days).toBe(4);
    expect(() => leaveDaysFor({ startDate: '2025-01-06', endDate: '2025-01-10', holidays: NONE, rules }))
      .toThrow(expect.objectContaining({ code: 'parameter_invalid', param: 'end_date' }));
  });

  it('refuses a range without working days and one across New Year', () => {
    expect(() => leaveDaysFor({ startDate: '2025-01-04', endDate: '2025-01-05', holidays: NONE, rules: OPEN }))
      .toThrow(expect.objectContaining({ code: 'parameter_invalid', param: 'start_date' }));
    expect(() => leaveDaysFor({ startDate: '2024-12-30', endDate: '2025-01-02', holidays: NONE, rules: OPEN }))
      .toThrow(expect.objectContaining({ code: 'parameter_invalid', param: 'end_date' }));
  });
});
