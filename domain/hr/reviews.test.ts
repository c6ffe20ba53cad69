import { describe, expect, it } from 'vitest';
import {
  checkCycleDates, checkManagerSubmission, checkSelfSubmission, cycleTimeline, REVIEW_STATUSES, ReviewError, summarizeRatings,
  type ReviewStatus, type SubmissionState,
} from './reviews.js';

const DUE = Date.parse('2031-03-01T00:00:00Z');
const base: SubmissionState = { cycleStatus: 'open', employeeId: 'emp_e', reviewerId: 'emp_m', status: 'awaiting_self', selfReviewDueMs: DUE };
const codeOf = (fn: () => unknown): string => {
  try {
    return `ok:${String(fn())}`;
  } catch (err) {
    if (err instanceof ReviewError) return err.code;
    throw err;
  }
};

describe('who may submit when', () => {
  it('the self review: only the employee, only while it waits for it in an open cycle', () => {
    const cases: [Partial<SubmissionState>, string, string][] = [
      [{}, 'emp_e', 'ok:awaiting_manager'],
      [{}, 'emp_m', 'forbidden'],
      [{}, 'emp_x', 'forbidden'],
      [{ status: 'awaiting_manager' }, 'emp_e', 'review_invalid_state'],
      [{ status: 'completed' }, 'emp_e', 'review_invalid_state'],
      [{ status: 'cancelled' }, 'emp_e', 'review_invalid_state'],
      [{ status: 'incomplete' }, 'emp_e', 'review_invalid_state'],
      [{ cycleStatus: 'closed' }, 'emp_e', 'review_invalid_state'],
      [{ cycleStatus: 'opening' }, 'emp_e', 'review_invalid_state'],
      // Someone else is refused before the state is looked at (no leak of the state to them).
      [{ cycleStatus: 'closed' }, 'emp_m', 'forbidden'],
    ];
    for (const [change, actor, expected] of cases) {
      expect(codeOf(() => checkSelfSubmission({ ...base, ...change }, actor)), JSON.stringify({ change, actor })).toBe(expected);
    }
  });

  it('the manager review: only the current reviewer, never the employee, after the self review or its due date', () => {
    const before = DUE - 1;
    const cases: [Partial<SubmissionState>, string, number, string][] = [
      [{ status: 'awaiting_manager' }, 'emp_m', before, 'ok:completed'],
      [{ status: 'awaiting_self' }, 'emp_m', before, 'review_invalid_state'],
      [{ status: 'awaiting_self' }, 'emp_m', DUE, 'ok:completed'],
      [{ status: 'awaiting_self' }, 'emp_m', DUE + 1, 'ok:completed'],
      [{ status: 'awaiting_manager' }, 'emp_e', before, 'forbidden'],
      [{ status: 'awaiting_manager' }, 'emp_x', before, 'forbidden'],
      // An escalated review: the old manager is no longer the reviewer.
      [{ status: 'awaiting_manager', reviewerId: 'emp_d' }, 'emp_m', before, 'forbidden'],
      [{ status: 'awaiting_manager', reviewerId: 'emp_d' }, 'emp_d', before, 'ok:completed'],
      // No manager: nobody writes the manager review.
      [{ status: 'awaiting_manager', reviewerId: null }, 'emp_m', before, 'forbidden'],
      // Reviewer and employee the same person cannot happen, and is refused all the same.
      [{ status: 'awaiting_manager', reviewerId: 'emp_e' }, 'emp_e', before, 'forbidden'],
      [{ status: 'completed' }, 'emp_m', DUE, 'review_invalid_state'],
      [{ status: 'cancelled' }, 'emp_m', DUE, 'review_invalid_state'],
      [{ status: 'incomplete' }, 'emp_m', DUE, 'review_invalid_state'],
      [{ status: 'awaiting_manager', cycleStatus: 'closed' }, 'emp_m', DUE, 'review_invalid_state'],
    ];
    for (const [change, actor, now, expected] of cases) {
      expect(codeOf(() => checkManagerSubmission({ ...base, ...change }, actor, now)), JSON.stringify({ change, actor, now })).toBe(expected);
    }
  });

  it('every status gets an answer of the rule: completed or a ReviewError, never a bug', () => {
    for (const status of REVIEW_STATUSES as readonly ReviewStatus[]) {
      expect(['ok:completed', 'review_invalid_state']).toContain(codeOf(() => checkManagerSubmission({ ...base, status }, 'emp_m', DUE)));
    }
  });
});

describe('a cycle\'s dates and timeline', () => {
  it('refuses a period backwards or a manager due date before the self due date', () => {
    const ok = { periodStart: '2031-01-01', periodEnd: '2031-06-30', selfReviewDueMs: DUE, managerReviewDueMs: DUE };
    expect(() => checkCycleDates(ok)).not.toThrow();
    expect(codeOf(() => checkCycleDates({ ...ok, periodEnd: '2030-12-31' }))).toBe('parameter_invalid');
    expect(codeOf(() => checkCycleDates({ ...ok, managerReviewDueMs: DUE - 1 }))).toBe('parameter_invalid');
  });

  it('reminds before each due date (the manager reminder never before the self due date), escalates after the manager due date', () => {
    const t = cycleTimeline({ selfReviewDueMs: 10_000, managerReviewDueMs: 20_000, reminderBeforeMs: 3_000, escalationAfterMs: 1_000 });
    expect(t).toEqual({ selfReminderAtMs: 7_000, selfDueAtMs: 10_000, managerReminderAtMs: 17_000, escalationAtMs: 21_000 });
    expect(cycleTimeline({ selfReviewDueMs: 10_000, managerReviewDueMs: 11_000, reminderBeforeMs: 3_000, escalationAfterMs: 0 }).managerReminderAtMs).toBe(10_000);
  });
});

describe('the summary: rating distribution per department', () => {
  it('counts every rating per department, the unrated apart, the mean to two decimals, departments by name', () => {
    const summary = summarizeRatings([
      { department: 'Ops', rating: 3, count: 2 },
      { department: 'Eng', rating: 5, count: 1 },
      { department: 'Eng', rating: 4, count: 2 },
      { department: 'Eng', rating: null, count: 3 },
      { department: 'Ops', rating: 1, count: 1 },
      { department: 'Sales', rating: null, count: 1 },
    ]);
    expect(summary).toEqual([
      { department: 'Eng', reviews: 6, rated: 3, distribution: { 1: 0, 2: 0, 3: 0, 4: 2, 5: 1 }, average_rating: 4.33 },
      { department: 'Ops', reviews: 3, rated: 3, distribution: { 1: 1, 2: 0, 3: 2, 4: 0, 5: 0 }, average_rating: 2.33 },
      { department: 'Sales', reviews: 1, rated: 0, distribution: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 }, average_rating: null },
    ]);
    // Invariant: per department, rated = the sum of the distribution, and never more than the reviews.
    for (const d of summary) {
      expect(Object.values(d.distribution).reduce((a, b) => a + b, 0)).toBe(d.rated);
      expect(d.rated).toBeLessThanOrEqual(d.reviews);
    }
  });

  it('is empty for no reviews, and a rating out of 1..5 is a bug, not a bucket', () => {
    expect(summarizeRatings([])).toEqual([]);
    expect(() => summarizeRatings([{ department: 'Ops', rating: 6, count: 1 }])).toThrow(/out of range/);
    expect(() => summarizeRatings([{ department: 'Ops', rating: 0, count: 1 }])).toThrow(/out of range/);
  });
});
