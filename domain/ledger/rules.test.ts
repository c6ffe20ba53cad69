import { describe, expect, it } from 'vitest';
import { LedgerError, LedgerInvariantError } from './errors.js';
import {
  assertBalancedPerCurrency,
  assertBalanced, assertSameHold, checkBalanceCap, checkHoldPostable, checkLimits, checkNoOverdraft, effectiveLimits, needsVoiding,
  netChanges, requireAccounts,
} from './rules.js';
import type { Account, Hold } from './types.js';

const NO_LIMITS = { per_transaction_max: null, daily_debit_max: null, monthly_debit_max: null, balance_max: null };

function account(overrides: Partial<Account> = {}): Account {
  return {
    id: 'acct_a', tenantId: 'ten_1', type: 'user', currency: 'USD', ownerId: null, kycLevel: 'none',
    limits: NO_LIMITS, metadata: {},
    balanceMinor: 1_000, heldMinor: 0, createdAt: new Date(0), ...overrides,
  };
}

function hold(overrides: Partial<Hold> = {}): Hold {
  return {
    id: 'hold_1', accountId: 'acct_a', amountMinor: 500, currency: 'USD', status: 'active',
    postedAmountMinor: null, resolutionTransactionId: null, ...overrides,
  };
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof LedgerError ? err.code : `not a LedgerError: ${String(err)}`;
  }
  return undefined;
};

describe('assertBalanced', () => {
  it('refuses unbalanced postings before writing anything', () => {
    expect(() => assertBalanced([
      { accountId: 'a', direction: 'debit', amountMinor: 100 },
      { accountId: 'b', direction: 'credit', amountMinor: 99 },
    ])).toThrow(LedgerInvariantError);
    expect(() => assertBalanced([{ accountId: 'a', direction: 'debit', amountMinor: 0 }, { accountId: 'b', direction: 'credit', amountMinor: 0 }]))
      .toThrow(LedgerInvariantError);
  });

  it('refuses a single leg and amounts that are not safe integers', () => {
    expect(() => assertBalanced([{ accountId: 'a', direction: 'debit', amountMinor: 1 }])).toThrow(LedgerInvariantError);
    expect(() => assertBalanced([
      { accountId: 'a', direction: 'debit', amountMinor: 1.5 },
      { accountId: 'b', direction: 'credit', amountMinor: 1.5 },
    ])).toThrow(LedgerInvariantError);
  });

  it('accepts multi-leg transactions whose debits equal their credits', () => {
    expect(() => assertBalanced([
      { accountId: 's', direction: 'debit', amountMinor: 300 },
      { accountId: 'a', direction: 'credit', amountMinor: 100 },
      { accountId: 'b', direction: 'credit', amountMinor: 200 },
    ])).not.toThrow();
  });
});

describe('netChanges', () => {
  it('adds credits and subtracts debits per account', () => {
    expect(netChanges([
      { accountId: 'a', direction: 'debit', amountMinor: 300 },
      { accountId: 'b', direction: 'credit', amountMinor: 200 },
      { accountId: 'a', direction: 'credit', amountMinor: 100 },
    ])).toEqual(new Map([['a', -200], ['b', 200]]));
  });
});

describe('requireAccounts', () => {
  const accounts = new Map([['acct_a', account()]]);
  it('names a missing account and a currency the account does not hold', () => {
    expect(codeOf(() => requireAccounts(accounts, ['acct_a', 'acct_b'], 'USD'))).toBe('account_missing');
    expect(codeOf(() => requireAccounts(accounts, ['acct_a'], 'EUR'))).toBe('currency_mismatch');
    expect(codeOf(() => requireAccounts(accounts, ['acct_a'], 'USD'))).toBeUndefined();
  });
});

describe('checkNoOverdraft', () => {
  it('a user account cannot spend held funds; credits, system accounts and allowed accounts pass', () => {
    const user = account({ balanceMinor: 500 });
    expect(codeOf(() => checkNoOverdraft(user, -101, 400, new Set()))).toBe('insufficient_funds');
    expect(codeOf(() => checkNoOverdraft(user, -100, 400, new Set()))).toBeUndefined();
    expect(codeOf(() => checkNoOverdraft(user, 100, 10_000, new Set()))).toBeUndefined();
    expect(codeOf(() => checkNoOverdraft(account({ type: 'system', balanceMinor: 0 }), -1, 0, new Set()))).toBeUndefined();
    expect(codeOf(() => checkNoOverdraft(account({ type: 'merchant', balanceMinor: 0 }), -1, 0, new Set(['acct_a'])))).toBeUndefined();
    expect(codeOf(() => checkNoOverdraft(account({ type: 'merchant', balanceMinor: 0 }), -1, 0, new Set()))).toBe('insufficient_funds');
  });
});

describe('checkLimits', () => {
  const limited = { ...NO_LIMITS, per_transaction_max: 500, daily_debit_max: 800, monthly_debit_max: 2_000 };
  const used = (todayMinor: number, monthMinor = todayMinor) => ({ todayMinor, monthMinor });
  it('enforces the per-transaction, the daily and the monthly debit limit, each up to its boundary', () => {
    expect(codeOf(() => checkLimits(limited, 501, used(0)))).toBe('limit_exceeded');
    expect(codeOf(() => checkLimits(limited, 500, used(300)))).toBeUndefined();
    expect(codeOf(() => checkLimits(limited, 300, used(501)))).toBe('limit_exceeded');
    expect(codeOf(() => checkLimits(limited, 300, used(0, 1_700)))).toBeUndefined();
    expect(codeOf(() => checkLimits(limited, 300, used(0, 1_701)))).toBe('limit_exceeded');
    expect(codeOf(() => checkLimits(NO_LIMITS, 1_000_000, used(1_000_000)))).toBeUndefined();
  });
});

describe('effectiveLimits', () => {
  it('takes the lower of the account’s and the tier’s limit; a limit only one sets holds as set', () => {
    const own = { per_transaction_max: 100, daily_debit_max: null, monthly_debit_max: 5_000, balance_max: null };
    const tier = { per_transaction_max: 300, daily_debit_max: 700, monthly_debit_max: 4_000, balance_max: null };
    expect(effectiveLimits(own, tier)).toEqual({ per_transaction_max: 100, daily_debit_max: 700, monthly_debit_max: 4_000, balance_max: null });
    expect(effectiveLimits(own, null)).toEqual(own);
    expect(effectiveLimits(NO_LIMITS, { ...NO_LIMITS, balance_max: 9 })).toEqual({ ...NO_LIMITS, balance_max: 9 });
  });
});

describe('checkBalanceCap', () => {
  it('refuses a credit that lifts the balance above the cap, allows one up to it', () => {
    expect(codeOf(() => checkBalanceCap('acct_a', 1_000, 400, 600))).toBeUndefined();
    expect(codeOf(() => checkBalanceCap('acct_a', 1_000, 400, 601))).toBe('limit_exceeded');
    expect(codeOf(() => checkBalanceCap('acct_a', null, 400, 10_000))).toBeUndefined();
    expect(codeOf(() => checkBalanceCap('acct_a', 100, 400, -50))).toBeUndefined(); // a debit of an account over its cap
  });
});

describe('holds', () => {
  it('a replayed key must ask for the same hold', () => {
    const h = hold();
    expect(assertSameHold(h, { idempotencyKey: 'k', accountId: 'acct_a', amountMinor: 500, currency: 'USD' })).toBe(h);
    expect(() => assertSameHold(h, { idempotencyKey: 'k', accountId: 'acct_a', amountMinor: 400, currency: 'USD' }))
      .toThrow(LedgerInvariantError);
  });

  it('only an active hold posts, at most its amount', () => {
    expect(codeOf(() => checkHoldPostable(hold(), 500))).toBeUndefined();
    expect(codeOf(() => checkHoldPostable(hold(), 501))).toBe('amount_too_large');
    expect(codeOf(() => checkHoldPostable(hold({ status: 'voided' }), 100))).toBe('hold_not_active');
  });

  it('voiding is idempotent; a posted hold cannot be voided', () => {
    expect(needsVoiding(hold())).toBe(true);
    expect(needsVoiding(hold({ status: 'voided' }))).toBe(false);
    expect(codeOf(() => needsVoiding(hold({ status: 'posted' })))).toBe('hold_not_active');
  });
});

describe('assertBalancedPerCurrency', () => {
  it('asserts debits == credits in every currency, not only in total', () => {
    const leg = (accountId: string, direction: 'debit' | 'credit', amountMinor: number, currency: string) => ({ accountId, direction, amountMinor, currency });
    expect(() => assertBalancedPerCurrency([leg('a', 'debit', 100, 'USD'), leg('b', 'credit', 100, 'USD'), leg('c', 'debit', 7, 'JPY'), leg('d', 'credit', 7, 'JPY')])).not.toThrow();
    // Balanced in total (107 = 107), not per currency.
    expect(() => assertBalancedPerCurrency([leg('a', 'debit', 100, 'USD'), leg('b', 'credit', 7, 'USD'), leg('c', 'debit', 7, 'JPY'), leg('d', 'credit', 100, 'JPY')]))
      .toThrow(LedgerInvariantError);
  });
});
