import type { LeaveDecision, LeaveLedgerKind, LeaveStatus } from './leave-state.js';
import type { HalfDay } from './working-days.js';

/** Plain data shared by the repositories, the leave workflow and the API (no behaviour, no I/O). */

/** Dates are ISO `YYYY-MM-DD` strings (UTC calendar): a date has no time zone to get wrong. */
export interface Employee {
  id: string;
  tenantId: string;
  employeeNumber: string;
  firstName: string;
  lastName: string;
  email: string;
  department: string;
  managerId: string | null;
  hireDate: string;
  /** ISO 3166-1 alpha-2, upper case; picks the country's holidays besides the global ones. */
  country: string | null;
  /** `terminated` is set by the offboarding workflow (contract §9). */
  status: EmployeeStatus;
  /** Where pay goes: a user account of the tenant (contract §9); null: none linked yet. */
  walletAccountId: string | null;
  /** The last day employed, inclusive (`POST /v1/employees/:id/terminate`); null: none scheduled. Payroll prorates by it. */
  terminationDate: string | null;
  terminationReason: string | null;
  createdAt: Date;
}

export const EMPLOYEE_STATUSES = ['active', 'terminated'] as const;
export type EmployeeStatus = (typeof EMPLOYEE_STATUSES)[number];

/** An employee in someone's org chart subtree; `depth` 1 = a direct report. */
export interface Report extends Employee {
  depth: number;
}

export interface LeaveType {
  tenantId: string;
  code: string;
  name: string;
  allowHalfDay: boolean;
  maxConsecutiveDays: number | null;
  /** Days for a full year, allocated pro rata on hire (domain/hr/hire-allocation.ts); null: none. */
  annualDays: number | null;
  /** Days taken are deducted from pay by payroll. */
  unpaid: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface Holiday {
  tenantId: string;
  date: string;
  name: string;
  /** null: a holiday for every employee of the tenant. */
  country: string | null;
}

/** Derived from the leave ledger, never stored: available = allocated − used − reserved. */
export interface LeaveBalance {
  leaveType: string;
  year: number;
  allocatedDays: number;
  usedDays: number;
  reservedDays: number;
  availableDays: number;
}

export interface LeaveLedgerEntry {
  id: string;
  tenantId: string;
  employeeId: string;
  leaveType: string;
  year: number;
  kind: LeaveLedgerKind;
  /** Signed: see ledgerMovesFor in leave-state.ts. */
  days: number;
  leaveRequestId: string | null;
  idempotencyKey: string;
  createdAt: Date;
}

/** A row to append; `idempotencyKey` is unique per tenant: a retried write finds its row instead of adding a second one. */
export type NewLedgerRow = Omit<LeaveLedgerEntry, 'id' | 'createdAt'>;

export type LeaveHistoryAction =
  | 'requested' | 'approved' | 'rejected' | 'cancelled' | 'expired' | 'escalated' | 'reassigned' | 'notified';

/**
 * One line of a request's `history`, stored as is (hence snake_case), oldest first. The
 * repositories write `at` as an ISO string in UTC.
 */
export interface LeaveHistoryEntry {
  at: string;
  action: LeaveHistoryAction;
  /** Absent when the system acted (expiry, escalation, auto-approval). */
  actor_id?: string;
  comment?: string;
  /** The request's status after this entry (absent on `notified`). */
  status?: LeaveStatus;
  /** The approver from this entry on (requested, escalated, reassigned). */
  approver_id?: string | null;
  previous_approver_id?: string | null;
  /** `notified`: what was sent, to whom (written by the leave workflow's activities). */
  event?: string;
  recipient_id?: string;
  /** Internal (makes a retried decision or escalation a no-op): leave it out of API responses. */
  idempotency_key?: string;
}

export interface LeaveRequest {
  id: string;
  tenantId: string;
  employeeId: string;
  leaveType: string;
  startDate: string;
  endDate: string;
  halfDay: HalfDay | null;
  days: number;
  reason: string | null;
  status: LeaveStatus;
  approverId: string | null;
  history: LeaveHistoryEntry[];
  createdAt: Date;
  updatedAt: Date;
}

export type { HalfDay, LeaveDecision, LeaveLedgerKind, LeaveStatus };
