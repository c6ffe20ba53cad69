import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../api/admin/tenants.js';
import { LedgerError, LedgerInvariantError } from '../../domain/ledger/errors.js';
import { TEST_POOL_MAX, testConfig } from '../../test/harness.js';
import { createPool, withTransaction } from '../db.js';
import { ensureSystemAccount, findAccount, insertAccount } from './accounts.js';
import { auditLedger } from './audit.js';
import { placeHold, postHold, voidHold } from './holds.js';
import { postTransaction } from './transactions.js';

let pool: pg.Pool;
let tenantId: string;
beforeAll(async () => {
  pool = createPool(testConfig().DATABASE_URL, TEST_POOL_MAX);
  tenantId = (await createTenant(pool, 'ledger tests')).id;
});
afterAll(async () => {
  await pool?.end();
});

async function fundedAccount(amountMinor: number, currency = 'USD'): Promise<string> {
  const account = await insertAccount(pool, { tenantId, type: 'user', currency });
  if (amountMinor > 0) {
    const system = await ensureSystemAccount(pool, tenantId, currency);
    await withTransaction(pool, (c) => postTransaction(c, {
      tenantId, idempotencyKey: `fund-${account.id}`, kind: 'topup', currency,
      postings: [
        { accountId: system, direction: 'debit', amountMinor },
        { accountId: account.id, direction: 'credit', amountMinor },
      ],
    }));
  }
  return account.id;
}

const hold = (accountId: string, key: string, amountMinor: number) =>
  withTransaction(pool, (c) => placeHold(c, { tenantId, idempotencyKey: key, accountId, amountMinor, currency: 'USD', enforceLimits: true }));

async function balances(accountId: string) {
  const a = (await findAccount(pool, tenantId, accountId))!;
  return { balance: a.balanceMinor, held: a.heldMinor };
}

describe('ledger', () => {
  it('refuses unbalanced postings before writing anything', async () => {
    const account = await fundedAccount(100);
    const other = await fundedAccount(0);
    await expect(withTransaction(pool, (c) => postTransaction(c, {
      tenantId, idempotencyKey: `unbalanced-${account}`, kind: 'transfer', currency: 'USD',
      postings: [{ accountId: account, direction: 'debit', amountMinor: 100 }, { accountId: other, direction: 'credit', amountMinor: 99 }],
    }))).rejects.toThrow(LedgerInvariantError);
    expect(await balances(account)).toEqual({ balance: 100, held: 0 });
    expect(await balances(other)).toEqual({ balance: 0, held: 0 });
  });

  it('50 concurrent holds on an account funded for 10: exactly 10 are placed', async () => {
    const account = await fundedAccount(1_000);
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => hold(account, `h-${account}-${i}`, 100)));
    const placed = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(placed).toHaveLength(10);
    // Every refusal is the ledger's own; anything else (a lost connection, a deadlock) is named.
    const otherReasons = refused.filter((r) => !(r.reason instanceof LedgerError && r.reason.code === 'insufficient_funds'));
    expect(otherReasons.map((r) => String(r.reason))).toEqual([]);
    expect(await balances(account)).toEqual({ balance: 1_000, held: 1_000 });
  });

  it('a direct debit cannot spend held funds', async () => {
    const account = await fundedAccount(500);
    const other = await fundedAccount(0);
    await hold(account, `h-${account}`, 400);
    await expect(withTransaction(pool, (c) => postTransaction(c, {
      tenantId, idempotencyKey: `debit-${account}`, kind: 'transfer', currency: 'USD',
      postings: [{ accountId: account, direction: 'debit', amountMinor: 101 }, { accountId: other, direction: 'credit', amountMinor: 101 }],
    }))).rejects.toMatchObject({ code: 'insufficient_funds' });
  });

  it('holds are idempotent by key and resolve exactly once', async () => {
    const payer = await fundedAccount(1_000);
    const payee = await fundedAccount(0);
    const first = await hold(payer, `once-${payer}`, 600);
    const again = await hold(payer, `once-${payer}`, 600);
    expect(again.id).toBe(first.id);
    expect(await balances(payer)).toEqual({ balance: 1_000, held: 600 });

    const post = (key: string, amountMinor?: number) => withTransaction(pool, (c) =>
      postHold(c, { tenantId, idempotencyKey: key, holdId: first.id, creditAccountId: payee, kind: 'transfer', ...(amountMinor ? { amountMinor } : {}) }));
    const posted = await Promise.allSettled([post(`post-${payer}`, 250), post(`post-${payer}`, 250), post(`other-${payer}`, 250)]);
    const ids = posted.filter((p) => p.status === 'fulfilled').map((p) => (p as PromiseFulfilledResult<{ transactionId: string }>).value.transactionId);
    expect(new Set(ids).size).toBe(1);
    const rejected = posted.filter((p): p is PromiseRejectedResult => p.status === 'rejected');
    // Whichever key takes the lock first posts the hold: the two requests with one key share its
    // outcome (both the transaction, or both refused), the other key gets the opposite.
    const sameKeyWon = posted[0].status === 'fulfilled';
    expect(posted.map((p) => p.status)).toEqual(sameKeyWon ? ['fulfilled', 'fulfilled', 'rejected'] : ['rejected', 'rejected', 'fulfilled']);
    expect(rejected.every((r) => r.reason.code === 'hold_not_active')).toBe(true);

    // Partial post: 250 moved, the other 350 released.
    expect(await balances(payer)).toEqual({ balance: 750, held: 0 });
    expect(await balances(payee)).toEqual({ balance: 250, held: 0 });
    await expect(withTransaction(pool, (c) => voidHold(c, tenantId, first.id))).rejects.toMatchObject({ code: 'hold_not_active' });
  });

  it('a replayed hold key returns the hold even when the funds are now spoken for, and refuses another hold', async () => {
    const payer = await fundedAccount(500);
    const first = await hold(payer, `replay-${payer}`, 500);
    expect((await hold(payer, `replay-${payer}`, 500)).id).toBe(first.id);
    expect(await balances(payer)).toEqual({ balance: 500, held: 500 });
    await expect(hold(payer, `replay-${payer}`, 400)).rejects.toThrow(LedgerInvariantError);
  });

  it('voiding is idempotent and gives the funds back; a voided hold cannot be posted', async () => {
    const payer = await fundedAccount(300);
    const payee = await fundedAccount(0);
    const h = await hold(payer, `void-${payer}`, 300);
    await withTransaction(pool, (c) => voidHold(c, tenantId, h.id));
    await withTransaction(pool, (c) => voidHold(c, tenantId, h.id));
    expect(await balances(payer)).toEqual({ balance: 300, held: 0 });
    await expect(withTransaction(pool, (c) => postHold(c, { tenantId, idempotencyKey: `p-${h.id}`, holdId: h.id, creditAccountId: payee, kind: 'transfer' })))
      .rejects.toMatchObject({ code: 'hold_not_active' });
  });

  it('enforces limits under the account lock', async () => {
    const account = await insertAccount(pool, { tenantId, type: 'user', currency: 'USD', limits: { per_transaction_max: 500, daily_debit_max: 800 } });
    const system = await ensureSystemAccount(pool, tenantId, 'USD');
    await withTransaction(pool, (c) => postTransaction(c, {
      tenantId, idempotencyKey: `fund-${account.id}`, kind: 'topup', currency: 'USD',
      postings: [{ accountId: system, direction: 'debit', amountMinor: 5_000 }, { accountId: account.id, direction: 'credit', amountMinor: 5_000 }],
    }));
    await expect(hold(account.id, `l1-${account.id}`, 501)).rejects.toMatchObject({ code: 'limit_exceeded' });
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => hold(account.id, `l-${account.id}-${i}`, 300)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
  });

  it('refuses a currency the account does not hold', async () => {
    const account = await fundedAccount(100, 'EUR');
    await expect(hold(account, `cur-${account}`, 10)).rejects.toMatchObject({ code: 'currency_mismatch' });
  });

  it('entries and transactions are append-only', async () => {
    await fundedAccount(100);
    await expect(pool.query(`UPDATE ledger_entries SET amount = amount + 1 WHERE id = (SELECT id FROM ledger_entries LIMIT 1)`))
      .rejects.toThrow(/append-only/);
    await expect(pool.query(`DELETE FROM ledger_transactions WHERE id = (SELECT id FROM ledger_transactions LIMIT 1)`))
      .rejects.toThrow(/append-only/);
  });

  it('the audit finds a balance that drifted from its entries (inside a rolled-back transaction)', async () => {
    const account = await fundedAccount(100);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      expect((await auditLedger(client)).problems.filter((p) => p.id === account)).toEqual([]);
      await client.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [account]);
      const report = await auditLedger(client);
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'balance_mismatch', id: account }));
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

/** Posts `amountMinor` from `payer` to `payee` as the P2P transfer does: a hold, then its post. */
const transfer = (payer: string, payee: string, key: string, amountMinor: number) =>
  withTransaction(pool, async (c) => {
    const h = await placeHold(c, { tenantId, idempotencyKey: `${key}:hold`, accountId: payer, amountMinor, currency: 'USD', enforceLimits: true });
    return postHold(c, { tenantId, idempotencyKey: `${key}:post`, holdId: h.id, creditAccountId: payee, kind: 'transfer' });
  });

async function pendingCredits(accountId: string): Promise<number> {
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM ledger_pending_credits WHERE account_id = $1', [accountId]);
  return rows[0].n as number;
}

async function auditOfTenant() {
  const report = await auditLedger(pool, { tenantId });
  return report.problems;
}

describe('a hot payee (credits do not wait for its row lock: schema/0011)', () => {
  it('a credit to a locked payee is left pending, read in its balance, and folded in by the next debit', async () => {
    const payer = await fundedAccount(1_000);
    const payee = await fundedAccount(100);
    const sink = await fundedAccount(0);
    // Another transaction holds the payee's row lock (as a concurrent transfer to it would).
    const blocker = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE', [payee]);
      // The transfer completes without waiting for that lock: its credit is pending.
      await transfer(payer, payee, `pending-${payee}`, 300);
      expect(await pendingCredits(payee)).toBe(1);
      expect(await balances(payee)).toEqual({ balance: 400, held: 0 }); // GET balance includes it
      expect(await balances(payer)).toEqual({ balance: 700, held: 0 });
      // A multi-leg posting (a top-up from the system account) credits it the same way.
      const system = await ensureSystemAccount(pool, tenantId, 'USD');
      await withTransaction(pool, (c) => postTransaction(c, {
        tenantId, idempotencyKey: `topup-pending-${payee}`, kind: 'topup', currency: 'USD',
        postings: [{ accountId: system, direction: 'debit', amountMinor: 50 }, { accountId: payee, direction: 'credit', amountMinor: 50 }],
      }));
      expect(await pendingCredits(payee)).toBe(2);
      expect(await balances(payee)).toEqual({ balance: 450, held: 0 });
      expect(await auditOfTenant()).toEqual([]);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    // A debit of the payee may spend the pending credit: its lock folds it into the stored balance.
    await transfer(payee, sink, `spend-${payee}`, 450);
    expect(await pendingCredits(payee)).toBe(0);
    expect(await balances(payee)).toEqual({ balance: 0, held: 0 });
    expect(await balances(sink)).toEqual({ balance: 450, held: 0 });
    const { rows } = await pool.query('SELECT balance::int AS stored FROM accounts WHERE id = $1', [payee]);
    expect(rows[0].stored).toBe(0);
    expect(await auditOfTenant()).toEqual([]);
  });

  it('a replayed post of a pending credit returns the first transaction and credits once', async () => {
    const payer = await fundedAccount(500);
    const payee = await fundedAccount(0);
    const blocker = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE', [payee]);
      const first = await transfer(payer, payee, `replay-pending-${payee}`, 200);
      const again = await transfer(payer, payee, `replay-pending-${payee}`, 200);
      expect(again).toEqual({ transactionId: first.transactionId, replayed: true });
      expect(await balances(payee)).toEqual({ balance: 200, held: 0 });
      expect(await pendingCredits(payee)).toBe(1);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
  });

  it('concurrent credits to one payee and concurrent debits of it: no overdraft, exact balances, audit clean', async () => {
    const PAYERS = 24;
    const CREDIT_MINOR = 100;
    const DEBITS = 40;
    const payee = await fundedAccount(0);
    const sink = await fundedAccount(0);
    const payers = await Promise.all(Array.from({ length: PAYERS }, () => fundedAccount(CREDIT_MINOR)));
    const credits = payers.map((payer, i) => transfer(payer, payee, `hot-credit-${payee}-${i}`, CREDIT_MINOR));
    const debits = Array.from({ length: DEBITS }, (_, i) => transfer(payee, sink, `hot-debit-${payee}-${i}`, CREDIT_MINOR));
    const [creditResults, debitResults] = await Promise.all([Promise.allSettled(credits), Promise.allSettled(debits)]);

    expect(creditResults.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    const refused = debitResults.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    // A debit is refused only for funds (the credits it would need had not arrived), never for anything else.
    expect(refused.filter((r) => !(r.reason instanceof LedgerError && r.reason.code === 'insufficient_funds')).map((r) => String(r.reason))).toEqual([]);
    const spent = (DEBITS - refused.length) * CREDIT_MINOR;
    expect(spent).toBeLessThanOrEqual(PAYERS * CREDIT_MINOR);
    expect(await balances(payee)).toEqual({ balance: PAYERS * CREDIT_MINOR - spent, held: 0 });
    expect(await balances(sink)).toEqual({ balance: spent, held: 0 });
    for (const payer of payers) expect(await balances(payer)).toEqual({ balance: 0, held: 0 });
    const { rows } = await pool.query('SELECT balance::int AS stored, held::int FROM accounts WHERE id = $1', [payee]);
    expect(rows[0].stored).toBeGreaterThanOrEqual(0); // the stored balance never went below zero (CHECK) …
    expect(rows[0].stored).toBeGreaterThanOrEqual(rows[0].held);
    expect(await auditOfTenant()).toEqual([]); // … and stored + pending equals the entries
  });
});

