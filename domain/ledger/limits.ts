import { effectiveLimits } from './rules.js';
import type { AccountLimits, AccountType } from './types.js';

/**
 * The windows of the debit limits (contract §2): UTC days and calendar months (UTC). A window's
 * use is its posted debits since `startsAt` plus the account's active holds (a hold is spending
 * the ledger has promised), the same sum the ledger checks under the account lock.
 */

export interface LimitWindow {
  startsAt: Date;
  resetsAt: Date;
}

export function limitWindows(now: Date): { day: LimitWindow; month: LimitWindow } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  return {
    day: { startsAt: new Date(Date.UTC(y, m, d)), resetsAt: new Date(Date.UTC(y, m, d + 1)) },
    month: { startsAt: new Date(Date.UTC(y, m, 1)), resetsAt: new Date(Date.UTC(y, m + 1, 1)) },
  };
}

/** One window as `GET /v1/accounts/:id/limits` shows it; `max` and `remaining` null: no limit. */
export interface WindowUse {
  max: number | null;
  usedMinor: number;
  remaining: number | null;
  resetsAt: Date;
}

export interface LimitsView {
  perTransactionMax: number | null;
  daily: WindowUse;
  monthly: WindowUse;
  balanceMax: number | null;
}

/** What an account may still spend: its effective limits (the lower of its own and its tier's) against its use. */
export function limitsView(
  account: { type: AccountType; limits: AccountLimits },
  tier: AccountLimits | null,
  used: { todayMinor: number; monthMinor: number },
  now: Date,
): LimitsView {
  const limits = effectiveLimits(account.limits, tier);
  const windows = limitWindows(now);
  const use = (max: number | null, usedMinor: number, window: LimitWindow): WindowUse => ({
    max, usedMinor, remaining: max === null ? null : Math.max(0, max - usedMinor), resetsAt: window.resetsAt,
  });
  return {
    perTransactionMax: limits.per_transaction_max,
    daily: use(limits.daily_debit_max, used.todayMinor, windows.day),
    monthly: use(limits.monthly_debit_max, used.monthMinor, windows.month),
    // Only user accounts are capped (merchants and system accounts receive whatever is paid).
    balanceMax: account.type === 'user' ? limits.balance_max : null,
  };
}
