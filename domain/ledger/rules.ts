import { LedgerError, LedgerInvariantError } from './errors.js';
import type { Account, AccountLimits, Hold, HoldRequest, Posting } from './types.js';

/**
 * The ledger's rules, pure: the store checks them under the account row locks, between reading
 * the locked rows and writing (the `accounts_user_no_overdraft` CHECK is the last line of defence).
 */

/** Debits equal credits, every amount a positive safe integer, at least two legs. */
export function assertBalanced(postings: Posting[]): void {
  let debits = 0;
  let credits = 0;
  for (const p of postings) {
    if (!Number.isSafeInteger(p.amountMinor) || p.amountMinor <= 0) {
      throw new LedgerInvariantError(`posting amount must be a positive safe integer, got ${p.amountMinor}`);
    }
    if (p.direction === 'debit') debits += p.amountMinor;
    else credits += p.amountMinor;
  }
  if (postings.length < 2 || debits !== credits) {
    throw new LedgerInvariantError(`unbalanced transaction: debits ${debits} != credits ${credits}`);
  }
}

/** Every id is a (locked) account of the tenant, in `currency`. */
export function requireAccounts(accounts: ReadonlyMap<string, Pick<Account, 'currency'>>, ids: string[], currency: string): void {
  for (const id of ids) {
    const account = accounts.get(id);
    if (!account) throw new LedgerError('account_missing', `No such account: ${id}`);
    if (account.currency !== currency) {
      throw new LedgerError('currency_mismatch', `Account ${id} holds ${account.currency}, not ${currency}`);
    }
  }
}

/** Net change per account: credits add, debits subtract. */
export function netChanges(postings: Posting[]): Map<string, number> {
  const net = new Map<string, number>();
  for (const p of postings) {
    const delta = p.direction === 'credit' ? p.amountMinor : -p.amountMinor;
    net.set(p.accountId, (net.get(p.accountId) ?? 0) + delta);
  }
  return net;
}

/**
 * A debit may not spend more than the available balance (balance minus `heldAfter`). System
 * accounts and the accounts in `overdraftAllowed` may go below zero; credits always pass.
 */
export function checkNoOverdraft(account: Pick<Account, 'id' | 'type' | 'balanceMinor'>, delta: number, heldAfter: number, overdraftAllowed: Set<string>): void {
  if (account.type === 'system' || overdraftAllowed.has(account.id) || delta >= 0) return;
  if (account.balanceMinor + delta - heldAfter < 0) {
    throw new LedgerError('insufficient_funds', `Account ${account.id} has insufficient available funds`);
  }
}

/** The lower of two limits, null meaning none. */
const lower = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/**
 * The limits in force: for each, the lower of the account's own and its KYC tier's (`tier` null:
 * the tenant set none for the account's level and currency). A limit neither sets is null.
 */
export function effectiveLimits(account: AccountLimits, tier: AccountLimits | null): AccountLimits {
  return {
    per_transaction_max: lower(account.per_transaction_max, tier?.per_transaction_max ?? null),
    daily_debit_max: lower(account.daily_debit_max, tier?.daily_debit_max ?? null),
    monthly_debit_max: lower(account.monthly_debit_max, tier?.monthly_debit_max ?? null),
    balance_max: lower(account.balance_max, tier?.balance_max ?? null),
  };
}

/** Debits already counted against the windows: posted since the UTC day (month) began, plus active holds. */
export interface LimitUsage {
  todayMinor: number;
  monthMinor: number;
}

/** The effective per-transaction, daily and monthly debit limits (`effectiveLimits`). */
export function checkLimits(limits: AccountLimits, amountMinor: number, used: LimitUsage): void {
  const { per_transaction_max: perTransactionMax, daily_debit_max: dailyMax, monthly_debit_max: monthlyMax } = limits;
  if (perTransactionMax !== null && amountMinor > perTransactionMax) {
    throw new LedgerError('limit_exceeded', `Amount exceeds the per-transaction limit of ${perTransactionMax}`);
  }
  if (dailyMax !== null && used.todayMinor + amountMinor > dailyMax) {
    throw new LedgerError('limit_exceeded', `Amount exceeds the daily debit limit of ${dailyMax}`);
  }
  if (monthlyMax !== null && used.monthMinor + amountMinor > monthlyMax) {
    throw new LedgerError('limit_exceeded', `Amount exceeds the monthly debit limit of ${monthlyMax}`);
  }
}

/** A credit may not lift an account above its effective balance cap (null: none; only user accounts have one). */
export function checkBalanceCap(accountId: string, capMinor: number | null, balanceMinor: number, creditMinor: number): void {
  if (capMinor !== null && creditMinor > 0 && balanceMinor + creditMinor > capMinor) {
    throw new LedgerError('limit_exceeded', `Credit would lift account ${accountId} above its balance limit of ${capMinor}`);
  }
}

/** A replayed key must describe the same hold; anything else is a caller's bug. */
export function assertSameHold(hold: Hold, request: HoldRequest): Hold {
  if (hold.accountId !== request.accountId || hold.amountMinor !== request.amountMinor || hold.currency !== request.currency) {
    throw new LedgerInvariantError(`Hold key ${request.idempotencyKey} was used for another hold (${hold.id})`);
  }
  return hold;
}

/** Only an active hold posts, and at most its full amount. */
export function checkHoldPostable(hold: Hold, amountMinor: number): void {
  if (hold.status !== 'active') throw new LedgerError('hold_not_active', `Hold ${hold.id} is ${hold.status}`);
  if (amountMinor > hold.amountMinor) throw new LedgerError('amount_too_large', 'Cannot post more than the hold');
}

/**
 * Whether the hold still has to be voided: false when it is voided already (voiding is
 * idempotent); a posted hold cannot be voided.
 */
export function needsVoiding(hold: Hold): boolean {
  if (hold.status === 'voided') return false;
  if (hold.status === 'posted') throw new LedgerError('hold_not_active', `Hold ${hold.id} is already posted`);
  return true;
}

/** Debits equal credits in every currency of the transaction (the audit checks the same per currency). */
export function assertBalancedPerCurrency(postings: readonly (Posting & { currency: string })[]): void {
  const byCurrency = new Map<string, Posting[]>();
  for (const p of postings) byCurrency.set(p.currency, [...(byCurrency.get(p.currency) ?? []), p]);
  for (const group of byCurrency.values()) assertBalanced(group);
}
