import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../api/admin/tenants.js';
import { firstIdAt, newId } from '../../domain/ids.js';
import { LedgerError } from '../../domain/ledger/errors.js';
import { limitWindows } from '../../domain/ledger/limits.js';
import type { AccountLimits, KycLevel } from '../../domain/ledger/types.js';
import { TEST_POOL_MAX, testConfig } from '../../test/harness.js';
import { createPool, withTransaction } from '../db.js';
import { ensureSystemAccount, findAccount, insertAccount, updateAccount } from './accounts.js';
import { auditLedger } from './audit.js';
import { placeHold, postHold } from './holds.js';
import { upsertKycTier } from './kyc-tiers.js';
import { limitUsage } from './limits.js';
import { postTransaction } from './transactions.js';

/**
 * KYC tiers and limits in the ledger (schema/0015): the limits in force are the lower of the
 * account's and its tier's, checked under the account's row lock — per transaction, per UTC day,
 * per calendar month (posted debits since the window began plus holds) — and a credit never lifts
 * a user account above its balance cap, under any concurrency. Each tenant here is its own, so a
 * tier set by one test touches no other.
 */

let pool: pg.Pool;
beforeAll(async () => {
  pool = createPool(testConfig().DATABASE_URL, TEST_POOL_MAX);
});
afterAll(async () => {
  await pool?.end();
});

const NONE: AccountLimits = { per_transaction_max: null, daily_debit_max: null, monthly_debit_max: null, balance_max: null };

async function newTenant(): Promise<string> {
  return (await createTenant(pool, 'kyc limits tests')).id;
}

async function account(tenantId: string, options: { fundMinor?: number; limits?: Partial<AccountLimits>; kycLevel?: KycLevel } = {}) {
  const { id } = await insertAccount(pool, { tenantId, type: 'user', currency: 'USD', kycLevel: options.kycLevel ?? 'none' });
  if (options.fundMinor) await topUp(tenantId, id, options.fundMinor, `fund-${id}`);
  // Limits after funding: a balance cap must not refuse the funding itself.
  if (options.limits) await updateAccount(pool, tenantId, id, { limits: options.limits });
  return id;
}

async function topUp(tenantId: string, accountId: string, amountMinor: number, key: string) {
  const system = await ensureSystemAccount(pool, tenantId, 'USD');
  return withTransaction(pool, (c) => postTransaction(c, {
    tenantId, idempotencyKey: key, kind: 'topup', currency: 'USD',
    postings: [
      { accountId: system, direction: 'debit', amountMinor },
      { accountId, direction: 'credit', amountMinor },
    ],
  }));
}

const tier = (tenantId: string, level: KycLevel, limits: Partial<AccountLimits>) =>
  upsertKycTier(pool, { tenantId, level, currency: 'USD', limits: { ...NONE, ...limits } });

const hold = (tenantId: string, accountId: string, amountMinor: number, key = newId('hold')) =>
  withTransaction(pool, (c) => placeHold(c, { tenantId, idempotencyKey: key, accountId, amountMinor, currency: 'USD', enforceLimits: true }));

/** A P2P transfer as the activities run it: the hold in one transaction, its post in another. */
async function transfer(tenantId: string, from: string, to: string, amountMinor: number) {
  const placed = await hold(tenantId, from, amountMinor);
  return withTransaction(pool, (c) => postHold(c, {
    tenantId, idempotencyKey: `post-${placed.id}`, holdId: placed.id, creditAccountId: to, kind: 'transfer',
  }));
}

/** The code of a refusal (undefined: it went through). */
async function outcome(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof LedgerError) return err.code;
    throw err;
  }
}

/**
 * A debit posted at `atMs` (its entry id and time from then), to the system account, with both
 * stored balances kept equal to their entries: history from before today for the windows.
 */
async function backdatedDebit(tenantId: string, accountId: string, amountMinor: number, atMs: number) {
  const system = await ensureSystemAccount(pool, tenantId, 'USD');
  const txId = newId('ledgerTransaction');
  const at = new Date(atMs);
  const idAt = (suffix: string) => `${firstIdAt('entry', atMs).slice(0, -suffix.length)}${suffix}`;
  const unique = newId('entry').slice(-8).toUpperCase();
  await withTransaction(pool, async (c) => {
    await c.query(`INSERT INTO ledger_transactions (id, tenant_id, idempotency_key, kind, created_at) VALUES ($1, $2, $1, 'synthetic', $3)`, [txId, tenantId, at]);
    await c.query(
      `INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount, currency, created_at)
       VALUES ($1, $3, $4, 'debit', $6, 'USD', $7), ($2, $3, $5, 'credit', $6, 'USD', $7)`,
      [idAt(`D${unique}`), idAt(`C${unique}`), txId, accountId, system, amountMinor, at],
    );
    await c.query('UPDATE accounts SET balance = balance + CASE WHEN id = $1 THEN -$3::bigint ELSE $3::bigint END WHERE id IN ($1, $2)', [accountId, system, amountMinor]);
  });
}

async function balance(tenantId: string, accountId: string) {
  const a = (await findAccount(pool, tenantId, accountId))!;
  return { balance: a.balanceMinor, held: a.heldMinor };
}

describe('debit limits: the lower of the account’s and its KYC tier’s', () => {
  it('a tier’s limits apply to the accounts at its level and currency only', async () => {
    const tenantId = await newTenant();
    await tier(tenantId, 'basic', { per_transaction_max: 500 });
    const basic = await account(tenantId, { fundMinor: 10_000, kycLevel: 'basic' });
    const unverified = await account(tenantId, { fundMinor: 10_000 });
    expect(await outcome(hold(tenantId, basic, 501))).toBe('limit_exceeded');
    expect(await outcome(hold(tenantId, basic, 500))).toBeUndefined();
    expect(await outcome(hold(tenantId, unverified, 5_000))).toBeUndefined();
    // Another currency's tier at the same level does not apply.
    await upsertKycTier(pool, { tenantId, level: 'none', currency: 'EUR', limits: { ...NONE, per_transaction_max: 1 } });
    expect(await outcome(hold(tenantId, unverified, 100))).toBeUndefined();
  });

  it('where both set a limit, the lower holds, whichever sets it', async () => {
    const tenantId = await newTenant();
    await tier(tenantId, 'none', { per_transaction_max: 500, daily_debit_max: 800 });
    const tighter = await account(tenantId, { fundMinor: 10_000, limits: { per_transaction_max: 300 } });
    const looser = await account(tenantId, { fundMinor: 10_000, limits: { per_transaction_max: 700, daily_debit_max: 5_000 } });
    expect(await outcome(hold(tenantId, tighter, 301))).toBe('limit_exceeded'); // the account's 300, under the tier's 500
    expect(await outcome(hold(tenantId, tighter, 300))).toBeUndefined();
    expect(await outcome(hold(tenantId, looser, 501))).toBe('limit_exceeded'); // the tier's 500, under the account's 700
    expect(await outcome(hold(tenantId, looser, 500))).toBeUndefined();
    expect(await outcome(hold(tenantId, looser, 301))).toBe('limit_exceeded'); // the tier's daily 800, under the account's 5,000
    expect(await outcome(hold(tenantId, looser, 300))).toBeUndefined();
    expect(await balance(tenantId, looser)).toEqual({ balance: 10_000, held: 800 });
  });

  it('each debit limit fires one past its boundary and not at it (per transaction, day, month)', async () => {
    const tenantId = await newTenant();
    const perTransaction = await account(tenantId, { fundMinor: 10_000, limits: { per_transaction_max: 400 } });
    expect(await outcome(hold(tenantId, perTransaction, 401))).toBe('limit_exceeded');
    expect(await outcome(hold(tenantId, perTransaction, 400))).toBeUndefined();

    const daily = await account(tenantId, { fundMinor: 10_000, limits: { daily_debit_max: 1_000 } });
    await hold(tenantId, daily, 700);
    expect(await outcome(hold(tenantId, daily, 301))).toBe('limit_exceeded');
    expect(await outcome(hold(tenantId, daily, 300))).toBeUndefined();
    expect(await outcome(hold(tenantId, daily, 1))).toBe('limit_exceeded');

    const monthly = await account(tenantId, { fundMinor: 10_000, limits: { daily_debit_max: 5_000, monthly_debit_max: 1_200 } });
    await hold(tenantId, monthly, 1_000);
    expect(await outcome(hold(tenantId, monthly, 201))).toBe('limit_exceeded');
    expect(await outcome(hold(tenantId, monthly, 200))).toBeUndefined();
    expect(await outcome(hold(tenantId, monthly, 1))).toBe('limit_exceeded');
  });

  it('the day counts today’s posted debits, the month this month’s, neither last month’s', async () => {
    const tenantId = await newTenant();
    const id = await account(tenantId, { fundMinor: 10_000 });
    const now = new Date();
    const { day, month } = limitWindows(now);
    await backdatedDebit(tenantId, id, 500, month.startsAt.getTime() - 1); // last month
    await backdatedDebit(tenantId, id, 300, day.startsAt.getTime() - 1); // yesterday: this month unless today is the 1st
    await transfer(tenantId, id, await account(tenantId), 100); // today, posted
    await hold(tenantId, id, 50); // today, held
    const yesterdayInMonth = day.startsAt.getTime() > month.startsAt.getTime() ? 300 : 0;
    const usage = (await limitUsage(pool, tenantId, id, now))!;
    expect(usage).toEqual({ tier: null, todayMinor: 150, monthMinor: 150 + yesterdayInMonth });

    await updateAccount(pool, tenantId, id, { limits: { daily_debit_max: 200, monthly_debit_max: 250 + yesterdayInMonth } });
    expect(await outcome(hold(tenantId, id, 51))).toBe('limit_exceeded'); // daily 150 + 51 > 200
    expect(await outcome(hold(tenantId, id, 50))).toBeUndefined();
    await updateAccount(pool, tenantId, id, { limits: { daily_debit_max: null } });
    expect(await outcome(hold(tenantId, id, 51))).toBe('limit_exceeded'); // monthly: 200 + 51 > 250 (+ yesterday)
    expect(await outcome(hold(tenantId, id, 50))).toBeUndefined();
    expect(await auditLedger(pool, { tenantId })).toMatchObject({ ok: true });
  });

  it('a tier change applies to the next hold (nothing cached)', async () => {
    const tenantId = await newTenant();
    const id = await account(tenantId, { fundMinor: 10_000, kycLevel: 'basic' });
    expect(await outcome(hold(tenantId, id, 1_000))).toBeUndefined();
    await tier(tenantId, 'basic', { per_transaction_max: 999 });
    expect(await outcome(hold(tenantId, id, 1_000))).toBe('limit_exceeded');
    await tier(tenantId, 'basic', { per_transaction_max: 1_000 });
    expect(await outcome(hold(tenantId, id, 1_000))).toBeUndefined();
    await updateAccount(pool, tenantId, id, { kycLevel: 'full' }); // no tier for `full`: no limit
    expect(await outcome(hold(tenantId, id, 5_000))).toBeUndefined();
  });

  it('20 concurrent holds never exceed the daily limit (tier) nor the monthly limit (account)', async () => {
    const tenantId = await newTenant();
    await tier(tenantId, 'none', { daily_debit_max: 1_000 });
    const race = async (accountId: string) => {
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => hold(tenantId, accountId, 100)));
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(refused.filter((r) => !(r.reason instanceof LedgerError && r.reason.code === 'limit_exceeded')).map((r) => String(r.reason))).toEqual([]);
      return results.filter((r) => r.status === 'fulfilled').length * 100;
    };
    const byDay = await account(tenantId, { fundMinor: 100_000 });
    expect(await race(byDay)).toBe(1_000);
    const byMonth = await account(tenantId, { fundMinor: 100_000, limits: { monthly_debit_max: 700 } });
    expect(await race(byMonth)).toBe(700);
    expect(await balance(tenantId, byMonth)).toEqual({ balance: 100_000, held: 700 });
  });
});

describe('balance cap: a credit never lifts a user account above it', () => {
  it('a transfer fires one past the cap and not at it; nothing is written on a refusal', async () => {
    const tenantId = await newTenant();
    const payer = await account(tenantId, { fundMinor: 10_000 });
    const payee = await account(tenantId, { fundMinor: 600, limits: { balance_max: 1_000 } });
    expect(await outcome(transfer(tenantId, payer, payee, 401))).toBe('limit_exceeded');
    expect(await balance(tenantId, payee)).toEqual({ balance: 600, held: 0 });
    expect(await balance(tenantId, payer)).toEqual({ balance: 10_000, held: 401 }); // the hold stays for the saga to void
    expect(await outcome(transfer(tenantId, payer, payee, 400))).toBeUndefined();
    expect(await balance(tenantId, payee)).toEqual({ balance: 1_000, held: 0 });
  });

  it('a top-up (postTransaction) fires one past the cap of the tier and not at it', async () => {
    const tenantId = await newTenant();
    await tier(tenantId, 'basic', { balance_max: 800 });
    const id = await account(tenantId, { kycLevel: 'basic' });
    expect(await outcome(topUp(tenantId, id, 801, `t1-${id}`))).toBe('limit_exceeded');
    expect(await outcome(topUp(tenantId, id, 800, `t2-${id}`))).toBeUndefined();
    expect(await outcome(topUp(tenantId, id, 1, `t3-${id}`))).toBe('limit_exceeded');
    expect(await balance(tenantId, id)).toEqual({ balance: 800, held: 0 });
    const merchant = await insertAccount(pool, { tenantId, type: 'merchant', currency: 'USD', kycLevel: 'basic', limits: { balance_max: 1 } });
    expect(await outcome(topUp(tenantId, merchant.id, 5_000, `t4-${merchant.id}`))).toBeUndefined(); // only user accounts are capped
    expect(await auditLedger(pool, { tenantId })).toMatchObject({ ok: true });
  });

  it('concurrent transfers and top-ups to one capped payee never lift it above the cap (payers on both sides of its id)', async () => {
    const tenantId = await newTenant();
    const before = await Promise.all(Array.from({ length: 10 }, () => account(tenantId, { fundMinor: 1_000 })));
    const payee = await account(tenantId, { limits: { balance_max: 1_500 } });
    const after = await Promise.all(Array.from({ length: 10 }, () => account(tenantId, { fundMinor: 1_000 })));
    const results = await Promise.allSettled([
      ...[...before, ...after].map((payer) => transfer(tenantId, payer, payee, 100)),
      ...Array.from({ length: 10 }, (_, i) => topUp(tenantId, payee, 100, `race-${payee}-${i}`)),
    ]);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    // Every refusal is the cap's; a deadlock or a lost connection would show here.
    expect(refused.filter((r) => !(r.reason instanceof LedgerError && r.reason.code === 'limit_exceeded')).map((r) => String(r.reason))).toEqual([]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(15);
    expect(await balance(tenantId, payee)).toEqual({ balance: 1_500, held: 0 });
    expect(await auditLedger(pool, { tenantId })).toMatchObject({ ok: true });
  });

  it('ledger_balance_cap: the lower of account and tier, for user accounts only', async () => {
    const tenantId = await newTenant();
    await tier(tenantId, 'full', { balance_max: 5_000 });
    const cap = async (id: string) =>
      (await pool.query('SELECT ledger_balance_cap($1, $2)::int AS cap', [tenantId, id])).rows[0].cap as number | null;
    const own = await account(tenantId, { kycLevel: 'full', limits: { balance_max: 2_000 } });
    const tierOnly = await account(tenantId, { kycLevel: 'full' });
    const none = await account(tenantId);
    expect([await cap(own), await cap(tierOnly), await cap(none), await cap('acct_missing')]).toEqual([2_000, 5_000, null, null]);
    expect(await cap(await ensureSystemAccount(pool, tenantId, 'USD'))).toBeNull();
  });
});
