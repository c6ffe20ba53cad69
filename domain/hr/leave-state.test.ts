import { describe, expect, it } from 'vitest';
import { LeaveError } from './errors.js';
import {
  assertMayDecide, isFinalLeaveStatus, LEAVE_DECISIONS, LEAVE_STATUSES, ledgerMovesFor, nextLeaveStatus,
  type LeaveDecision, type LeaveStatus,
} from './leave-state.js';

/** The expected machine written out again ('-' = leave_request_invalid_state), for a leave not yet started. */
const COLUMNS: LeaveDecision[] = ['approve', 'reject', 'cancel', 'expire'];
const EXPECTED: Record<LeaveStatus, (LeaveStatus | '-')[]> = {
  //         approve     reject      cancel       expire
  pending: ['approved', 'rejected', 'cancelled', 'expired'],
  approved: ['-',       '-',        'cancelled', '-'],
  rejected: ['-',       '-',        '-',         '-'],
  cancelled: ['-',      '-',        '-',         '-'],
  expired: ['-',        '-',        '-',         '-'],
};
const FUTURE = { startDate: '2025-03-10', today: '2025-03-09' };

describe('leave state machine', () => {
  it('the table covers every status and decision', () => {
    expect([...COLUMNS].sort()).toEqual([...LEAVE_DECISIONS].sort());
    expect(Object.keys(EXPECTED).sort()).toEqual([...LEAVE_STATUSES].sort());
  });

  it.each(LEAVE_STATUSES.flatMap((status) => COLUMNS.map((decision, i) => ({ status, decision, expected: EXPECTED[status][i]! }))))(
    '$status + $decision → $expected',
    ({ status, decision, expected }) => {
      if (expected === '-') {
        expect(() => nextLeaveStatus(status, decision, FUTURE)).toThrow(expect.objectContaining({ code: 'leave_request_invalid_state' }));
      } else {
        expect(nextLeaveStatus(status, decision, FUTURE)).toBe(expected);
      }
    },
  );

  it('an approved leave cannot be cancelled from its first day on', () => {
    expect(() => nextLeaveStatus('approved', 'cancel', { startDate: '2025-03-10', today: '2025-03-10' })).toThrow(LeaveError);
    expect(() => nextLeaveStatus('approved', 'cancel', { startDate: '2025-03-10', today: '2025-03-11' })).toThrow(LeaveError);
    // A pending one can: nothing was used yet.
    expect(nextLeaveStatus('pending', 'cancel', { startDate: '2025-03-10', today: '2025-03-11' })).toBe('cancelled');
  });

  it('only pending and approved are not final', () => {
    expect(LEAVE_STATUSES.filter((s) => !isFinalLeaveStatus(s))).toEqual(['pending', 'approved']);
  });
});

describe('who may decide', () => {
  const request = { employeeId: 'emp_e', approverId: 'emp_m' };
  const code = (fn: () => void) => {
    try {
      fn();
      return 'ok';
    } catch (err) {
      return (err as LeaveError).code;
    }
  };

  it('approve and reject: the current approver only, never the employee', () => {
    for (const decision of ['approve', 'reject'] as const) {
      expect(code(() => assertMayDecide(decision, 'emp_m', request))).toBe('ok');
      expect(code(() => assertMayDecide(decision, 'emp_e', request))).toBe('not_approver');
      expect(code(() => assertMayDecide(decision, 'emp_other', request))).toBe('not_approver');
      expect(code(() => assertMayDecide(decision, null, request))).toBe('not_approver');
    }
  });

  it('the system approves (never rejects) a request without an approver', () => {
    const alone = { employeeId: 'emp_e', approverId: null };
    expect(code(() => assertMayDecide('approve', null, alone))).toBe('ok');
    expect(code(() => assertMayDecide('reject', null, alone))).toBe('not_approver');
    expect(code(() => assertMayDecide('approve', 'emp_e', alone))).toBe('not_approver');
  });

  it('cancel: the employee or the system; expire: the system', () => {
    expect(code(() => assertMayDecide('cancel', 'emp_e', request))).toBe('ok');
    expect(code(() => assertMayDecide('cancel', null, request))).toBe('ok');
    expect(code(() => assertMayDecide('cancel', 'emp_m', request))).toBe('not_approver');
    expect(code(() => assertMayDecide('expire', null, request))).toBe('ok');
  });
});

describe('ledger moves', () => {
  /** available = allocated − used − reserved: the change each move makes to (used, reserved). */
  const effect = (from: LeaveStatus, to: LeaveStatus) => {
    const moves = ledgerMovesFor(from, to, 3);
    const used = moves.filter((m) => m.kind === 'usage').reduce((sum, m) => sum + m.days, 0);
    const reserved = moves.filter((m) => m.kind !== 'usage').reduce((sum, m) => sum + m.days, 0);
    return { used, reserved, available: -used - reserved, keys: new Set(moves.map((m) => m.keySuffix)).size === moves.length };
  };

  it('approve turns the reservation into usage; the rest give the days back', () => {
    expect(effect('pending', 'approved')).toEqual({ used: 3, reserved: -3, available: 0, keys: true });
    for (const to of ['rejected', 'cancelled', 'expired'] as const) {
      expect(effect('pending', to)).toEqual({ used: 0, reserved: -3, available: 3, keys: true });
    }
    expect(effect('approved', 'cancelled')).toEqual({ used: -3, reserved: 0, available: 3, keys: true });
  });
});
