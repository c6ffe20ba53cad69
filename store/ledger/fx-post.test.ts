import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../api/admin/tenants.js';
import { LedgerError, LedgerInvariantError } from '../../domain/ledger/errors.js';
import { TEST_POOL_MAX, testConfig } from '../../test/harness.js';
import { createPool, withTransaction } from '../db.js';
import { ensureSystemAccount, findAccount, insertAccount } from './accounts.js';
import { auditLedger } from './audit.js';
import { ensureFxAccount, fxPostHold, type FxPostHoldInput } from './fx-post.js';
import { placeHold } from './holds.js';
import { postTransaction } from './transactions.js';

let pool: pg.Pool;
let tenantId: string;
beforeAll(async () => {
  pool = createPool(testConfig().DATABASE_URL, TEST_POOL_MAX);
  tenantId = (await createTenant(pool, 'fx post tests')).id;
});
afterAll(async () => {
  expect((await auditLedger(pool, { tenantId })).problems).toEqual([]);
  await pool?.end();
});

async function fundedAccount(amountMinor: number, currency: string): Promise<string> {
  const account = await insertAccount(pool, { tenantId, type: 'user', currency });
  const system = await ensureSystemAccount(pool, tenantId, currency);
  await withTransaction(pool, (c) => postTransaction(c, {
    tenantId, idempotencyKey: `fund-${account.id}`, kind: 'topup', currency,
    postings: [{ accountId: system, direction: 'debit', amountMinor }, { accountId: account.id, direction: 'credit', amountMinor }],
  }));
  return account.id;
}

/** A USD payer funded for 10,000 with a hold of `amountMinor`, a JPY payee, and the post of the hold at 150.5. */
async function heldConversion(amountMinor = 1_000): Promise<FxPostHoldInput> {
  const payer = await fundedAccount(10_000, 'USD');
  const payee = (await insertAccount(pool, { tenantId, type: 'user', currency: 'JPY' })).id;
  const hold = await withTransaction(pool, (c) => placeHold(c, {
    tenantId, idempotencyKey: `hold-${payer}`, accountId: payer, amountMinor, currency: 'USD', enforceLimits: true,
  }));
  return {
    tenantId, idempotencyKey: `post-${hold.id}`, holdId: hold.id, creditAccountId: payee, amountMinor, currency: 'USD',
    toCurrency: 'JPY', convertedMinor: Math.floor((amountMinor * 1505) / 1000), kind: 'transfer',
    fxFromAccountId: await ensureFxAccount(pool, tenantId, 'USD'), fxToAccountId: await ensureFxAccount(pool, tenantId, 'JPY'),
  };
}

const balanceOf = async (id: string) => (await findAccount(pool, tenantId, id))!.balanceMinor;
const heldOf = async (id: string) => (await findAccount(pool, tenantId, id))!.heldMinor;
const payerOf = async (holdId: string) => (await pool.query('SELECT account_id FROM holds WHERE id = $1', [holdId])).rows[0].account_id as string;
const transactionsOf = async (holdId: string) => (await pool.query('SELECT count(*)::int AS n FROM ledger_transactions WHERE hold_id = $1', [holdId])).rows[0].n as number;

describe('fxPostHold', () => {
  it('posts one transaction balanced per currency through the FX accounts, and a replay returns it', async () => {
    const input = await heldConversion();
    const payer = await payerOf(input.holdId);
    const fx = { from: await balanceOf(input.fxFromAccountId), to: await balanceOf(input.fxToAccountId) };
    const first = await withTransaction(pool, (c) => fxPostHold(c, input));
    expect(first.replayed).toBe(false);
    expect(await withTransaction(pool, (c) => fxPostHold(c, input))).toEqual({ transactionId: first.transactionId, replayed: true });

    expect([await balanceOf(payer), await heldOf(payer)]).toEqual([9_000, 0]);
    expect(await balanceOf(input.creditAccountId)).toBe(1_505);
    expect(await balanceOf(input.fxFromAccountId)).toBe(fx.from + 1_000);
    expect(await balanceOf(input.fxToAccountId)).toBe(fx.to - 1_505);
    const { rows } = await pool.query(`SELECT status, posted_amount::int, resolution_transaction_id FROM holds WHERE id = $1`, [input.holdId]);
    expect(rows[0]).toEqual({ status: 'posted', posted_amount: 1_000, resolution_transaction_id: first.transactionId });
    expect(await transactionsOf(input.holdId)).toBe(1);
  });

  it('the FX accounts are system accounts (owner fx), one per currency, beside the funding account', async () => {
    const [a, b] = await Promise.all([ensureFxAccount(pool, tenantId, 'CHF'), ensureFxAccount(pool, tenantId, 'CHF')]);
    expect(a).toBe(b);
    const funding = await ensureSystemAccount(pool, tenantId, 'CHF');
    expect(funding).not.toBe(a);
    expect(await findAccount(pool, tenantId, a)).toMatchObject({ type: 'system', currency: 'CHF', ownerId: 'fx', metadata: { purpose: 'fx' } });
    expect(await findAccount(pool, tenantId, funding)).toMatchObject({ type: 'system', ownerId: null });
  });

  it('refuses a credit above the payee’s balance cap with limit_exceeded, writing nothing', async () => {
    const input = await heldConversion();
    await pool.query('UPDATE accounts SET balance_max = $2 WHERE id = $1', [input.creditAccountId, input.convertedMinor - 1]);
    const err = await withTransaction(pool, (c) => fxPostHold(c, input)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as LedgerError).code).toBe('limit_exceeded');
    expect(await transactionsOf(input.holdId)).toBe(0);
    expect(await balanceOf(input.creditAccountId)).toBe(0);
    expect(await heldOf(await payerOf(input.holdId))).toBe(1_000);
    await pool.query('UPDATE accounts SET balance_max = $2 WHERE id = $1', [input.creditAccountId, input.convertedMinor]);
    expect((await withTransaction(pool, (c) => fxPostHold(c, input))).replayed).toBe(false); // at the cap exactly
  });

  it('refuses accounts in the wrong currencies and a hold that is not the conversion’s', async () => {
    const input = await heldConversion();
    const euro = (await insertAccount(pool, { tenantId, type: 'user', currency: 'EUR' })).id;
    const attempts: [Partial<FxPostHoldInput>, unknown][] = [
      [{ creditAccountId: euro }, 'currency_mismatch'],
      [{ fxToAccountId: input.fxFromAccountId, fxFromAccountId: input.fxToAccountId }, 'currency_mismatch'],
      [{ amountMinor: 999 }, LedgerInvariantError],
      [{ holdId: 'hold_missing' }, 'hold_missing'],
    ];
    for (const [change, expected] of attempts) {
      const err = await withTransaction(pool, (c) => fxPostHold(c, { ...input, ...change })).catch((e: unknown) => e);
      if (typeof expected === 'string') expect((err as LedgerError).code).toBe(expected);
      else expect(err).toBeInstanceOf(expected);
    }
    expect(await transactionsOf(input.holdId)).toBe(0);
  });

});
