import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTenant } from '../../api/admin/tenants.js';
import { newId } from '../../domain/ids.js';
import { createPool, withTransaction } from '../db.js';
import { dropDatabase, ensureDatabase, migrateUp } from '../migrate.js';
import { ensureSystemAccount, insertAccount } from './accounts.js';
import { AUDIT_CHECK_KINDS, auditLedger, type AuditCheckKind, type AuditProblem } from './audit.js';
import { ensureFxAccount, fxPostHold } from './fx-post.js';
import { placeHold, postHold } from './holds.js';
import { postTransaction, writeTransaction } from './transactions.js';

/**
 * Every audit check fires on the problem it is there to find. Each problem is planted inside a
 * transaction that is rolled back, and the audit runs on that transaction's client.
 *
 * In a database of its own (migrated like the run's): one plant, an overdrawn user account, needs
 * the `accounts_user_no_overdraft` constraint dropped inside the transaction, which takes an
 * ACCESS EXCLUSIVE lock on `accounts` until the rollback — in the shared database every other
 * test file's ledger writes would queue behind it. No trigger is disabled: the plants only insert
 * entries and transactions (which the append-only triggers allow) and update accounts and holds.
 */

let pool: pg.Pool;
let databaseUrl: string;

beforeAll(async () => {
  const url = new URL(inject('databaseUrl'));
  url.pathname = `${url.pathname}_audit`;
  databaseUrl = url.toString();
  await ensureDatabase(databaseUrl);
  await migrateUp(databaseUrl);
  pool = createPool(databaseUrl, 4);
});
afterAll(async () => {
  await pool?.end();
  if (databaseUrl) await dropDatabase(databaseUrl);
});

const FUNDED_MINOR = 1_000;

/** A tenant whose ledger was written by the ledger code only: a funded payer, a payee, a EUR account. */
async function cleanTenant() {
  const tenantId = (await createTenant(pool, 'audit plants')).id;
  const account = async (currency = 'USD') => (await insertAccount(pool, { tenantId, type: 'user', currency })).id;
  const [payer, payee, euro] = [await account(), await account(), await account('EUR')];
  const system = await ensureSystemAccount(pool, tenantId, 'USD');
  await withTransaction(pool, (c) => postTransaction(c, {
    tenantId, idempotencyKey: `fund-${payer}`, kind: 'topup', currency: 'USD',
    postings: [{ accountId: system, direction: 'debit', amountMinor: FUNDED_MINOR }, { accountId: payer, direction: 'credit', amountMinor: FUNDED_MINOR }],
  }));
  return { tenantId, payer, payee, euro };
}
type Tenant = Awaited<ReturnType<typeof cleanTenant>>;

/** Plants one problem on `client` (inside the open transaction) and says which problem the audit must report. */
type Plant = (client: pg.PoolClient, t: Tenant) => Promise<AuditProblem>;

/** A posted hold of 100 from payer to payee, written by the ledger code. */
async function postedHold(client: pg.PoolClient, t: Tenant): Promise<string> {
  const hold = await placeHold(client, {
    tenantId: t.tenantId, idempotencyKey: `hold-${newId('hold')}`, accountId: t.payer, amountMinor: 100, currency: 'USD', enforceLimits: true,
  });
  await postHold(client, { tenantId: t.tenantId, idempotencyKey: `post-${hold.id}`, holdId: hold.id, creditAccountId: t.payee, kind: 'transfer' });
  return hold.id;
}

/** A conversion of 100 USD from the payer to 90 EUR on the EUR account, written by the ledger code (store/ledger/fx-post.ts). */
async function conversion(client: pg.PoolClient, t: Tenant): Promise<string> {
  const hold = await placeHold(client, {
    tenantId: t.tenantId, idempotencyKey: `hold-${newId('hold')}`, accountId: t.payer, amountMinor: 100, currency: 'USD', enforceLimits: true,
  });
  const posted = await fxPostHold(client, {
    tenantId: t.tenantId, idempotencyKey: `post-${hold.id}`, holdId: hold.id, creditAccountId: t.euro, amountMinor: 100, currency: 'USD',
    toCurrency: 'EUR', convertedMinor: 90, kind: 'transfer',
    fxFromAccountId: await ensureFxAccount(client, t.tenantId, 'USD'), fxToAccountId: await ensureFxAccount(client, t.tenantId, 'EUR'),
  });
  return posted.transactionId;
}

const PLANTS: Record<AuditCheckKind, Record<string, Plant>> = {
  unbalanced_transaction: {
    // The write path without its balance assertion (postTransaction asserts it; writeTransaction trusts its caller).
    'debits 5, credits 4': async (client, t) => {
      const id = await writeTransaction(client, {
        tenantId: t.tenantId, idempotencyKey: 'plant-unbalanced', kind: 'transfer', currency: 'USD',
        postings: [{ accountId: t.payer, direction: 'debit', amountMinor: 5 }, { accountId: t.payee, direction: 'credit', amountMinor: 4 }],
      }, null);
      return { kind: 'unbalanced_transaction', id, detail: 'USD: debits 5 credits 4' };
    },
    // A conversion balances per currency, not in total (100 USD out, 90 EUR in): one more EUR
    // credit on the payee (and its balance, so only the imbalance shows) breaks its EUR side.
    'a conversion with one EUR credit too many': async (client, t) => {
      const transactionId = await conversion(client, t);
      await client.query(
        `INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount, currency) VALUES ($1, $2, $3, 'credit', 1, 'EUR')`,
        [newId('entry'), transactionId, t.euro],
      );
      await client.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [t.euro]);
      return { kind: 'unbalanced_transaction', id: transactionId, detail: 'EUR: debits 90 credits 91' };
    },
  },
  empty_transaction: {
    'a transaction row without entries': async (client, t) => {
      const id = newId('ledgerTransaction');
      await client.query(`INSERT INTO ledger_transactions (id, tenant_id, idempotency_key, kind) VALUES ($1, $2, 'plant-empty', 'transfer')`, [id, t.tenantId]);
      return { kind: 'empty_transaction', id, detail: 'no entries' };
    },
  },
  balance_mismatch: {
    'a balance changed without an entry': async (client, t) => {
      await client.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [t.payer]);
      return { kind: 'balance_mismatch', id: t.payer, detail: `balance ${FUNDED_MINOR + 1} but entries sum to ${FUNDED_MINOR}` };
    },
  },
  pending_credit_invalid: {
    // Balanced on the books (the stored balance lowered by as much), but no credit entry of that
    // amount stands behind it: it names the payer's funding credit with another amount.
    'a pending credit without its credit entry': async (client, t) => {
      const { rows } = await client.query(`SELECT id FROM ledger_entries WHERE account_id = $1 AND direction = 'credit'`, [t.payer]);
      const entryId = rows[0].id as string;
      await client.query('INSERT INTO ledger_pending_credits (account_id, entry_id, amount) VALUES ($1, $2, 5)', [t.payer, entryId]);
      await client.query('UPDATE accounts SET balance = balance - 5 WHERE id = $1', [t.payer]);
      return { kind: 'pending_credit_invalid', id: entryId, detail: `pending credit of 5 on ${t.payer} without that credit entry` };
    },
  },
  held_mismatch: {
    'held raised without a hold': async (client, t) => {
      await client.query('UPDATE accounts SET held = held + 1 WHERE id = $1', [t.payer]);
      return { kind: 'held_mismatch', id: t.payer, detail: 'held 1 but active holds sum to 0' };
    },
  },
  user_overdrawn: {
    // The last line of defence gone and a caller letting a user account overdraw: balanced entries, a negative balance.
    'a user account below zero': async (client, t) => {
      await client.query('ALTER TABLE accounts DROP CONSTRAINT accounts_user_no_overdraft');
      await postTransaction(client, {
        tenantId: t.tenantId, idempotencyKey: 'plant-overdraft', kind: 'transfer', currency: 'USD', overdraftAllowed: [t.payee],
        postings: [{ accountId: t.payee, direction: 'debit', amountMinor: 50 }, { accountId: t.payer, direction: 'credit', amountMinor: 50 }],
      });
      return { kind: 'user_overdrawn', id: t.payee, detail: 'balance -50, held 0' };
    },
  },
  entry_currency_mismatch: {
    // Balanced in EUR, but one leg lands on a USD account.
    'a EUR entry on a USD account': async (client, t) => {
      const transactionId = await writeTransaction(client, {
        tenantId: t.tenantId, idempotencyKey: 'plant-currency', kind: 'transfer', currency: 'EUR',
        postings: [{ accountId: t.payer, direction: 'debit', amountMinor: 5 }, { accountId: t.euro, direction: 'credit', amountMinor: 5 }],
      }, null);
      const { rows } = await client.query('SELECT id FROM ledger_entries WHERE transaction_id = $1 AND account_id = $2', [transactionId, t.payer]);
      return { kind: 'entry_currency_mismatch', id: rows[0].id as string, detail: 'entry EUR on USD account' };
    },
  },
  entry_account_missing: {
    // Balanced, and every existing account's balance agrees: one leg lands on no account at all.
    'an entry on an account that does not exist': async (client, t) => {
      const missing = newId('account');
      const transactionId = await writeTransaction(client, {
        tenantId: t.tenantId, idempotencyKey: 'plant-missing-account', kind: 'transfer', currency: 'USD',
        postings: [{ accountId: t.payer, direction: 'debit', amountMinor: 5 }, { accountId: missing, direction: 'credit', amountMinor: 5 }],
      }, null);
      const { rows } = await client.query('SELECT id FROM ledger_entries WHERE transaction_id = $1 AND account_id = $2', [transactionId, missing]);
      return { kind: 'entry_account_missing', id: rows[0].id as string, detail: `entry on missing account ${missing}` };
    },
  },
  hold_resolution_invalid: {
    'a voided hold that was posted': async (client, t) => {
      const holdId = await postedHold(client, t);
      await client.query(
        `UPDATE holds SET status = 'voided', posted_amount = NULL, resolution_transaction_id = NULL WHERE id = $1`, [holdId],
      );
      return { kind: 'hold_resolution_invalid', id: holdId, detail: 'voided hold with 1 posting transactions' };
    },
    'a posted amount other than the debit': async (client, t) => {
      const holdId = await postedHold(client, t);
      await client.query('UPDATE holds SET posted_amount = posted_amount - 1 WHERE id = $1', [holdId]);
      return { kind: 'hold_resolution_invalid', id: holdId, detail: 'posted 99 but debited 100' };
    },
  },
};

const CASES = Object.entries(PLANTS).flatMap(([kind, plants]) => Object.entries(plants).map(([name, plant]) => [kind, name, plant] as const));

/** Runs `fn` in a transaction that is always rolled back. */
async function inRolledBackTransaction(fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await fn(client);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

/** The audit's problems on `db`, whole ledger or one tenant; `ok` agrees with them. */
async function problemsOf(db: pg.Pool | pg.PoolClient, tenantId?: string): Promise<AuditProblem[]> {
  const report = await auditLedger(db, tenantId ? { tenantId } : {});
  expect(report.ok).toBe(report.problems.length === 0);
  return report.problems;
}

describe('the ledger audit', () => {
  it('has a planted problem for each of its checks', () => {
    expect(AUDIT_CHECK_KINDS).toHaveLength(9);
    expect(Object.keys(PLANTS).sort()).toEqual([...AUDIT_CHECK_KINDS].sort());
  });

  it.each(CASES)('%s fires on %s, and nothing else does', async (_kind, _name, plant) => {
    const t = await cleanTenant();
    const bystander = await cleanTenant();
    await inRolledBackTransaction(async (client) => {
      expect(await problemsOf(client)).toEqual([]);
      const problem = await plant(client, t);
      // Exactly the planted problem, whether the audit covers the whole ledger or the tenant…
      expect(await problemsOf(client)).toEqual([problem]);
      expect(await problemsOf(client, t.tenantId)).toEqual([problem]);
      // …and none when it covers another tenant.
      expect(await problemsOf(client, bystander.tenantId)).toEqual([]);
    });
    expect(await problemsOf(pool)).toEqual([]);
  });

  it('finds nothing wrong with a conversion: its ledger transaction balances in each of its two currencies', async () => {
    const t = await cleanTenant();
    await inRolledBackTransaction(async (client) => {
      const transactionId = await conversion(client, t);
      const { rows } = await client.query('SELECT count(DISTINCT currency)::int AS n FROM ledger_entries WHERE transaction_id = $1', [transactionId]);
      expect(rows[0].n).toBe(2);
      expect(await problemsOf(client, t.tenantId)).toEqual([]);
    });
  });

  it('counts what a scoped audit covered: the tenant’s accounts, transactions and their entries', async () => {
    const [t, other] = [await cleanTenant(), await cleanTenant()];
    // Three user accounts and the USD system account; the funding transaction and its two entries.
    const covered = { accounts: 4, transactions: 1, entries: 2 };
    expect(await auditLedger(pool, { tenantId: t.tenantId })).toEqual({ ok: true, checked: covered, problems: [] });
    expect(await auditLedger(pool, { tenantId: other.tenantId })).toEqual({ ok: true, checked: covered, problems: [] });
    const all = (await auditLedger(pool)).checked;
    expect(all.accounts).toBeGreaterThanOrEqual(2 * covered.accounts);
    expect(all.entries).toBeGreaterThanOrEqual(2 * covered.entries);
  });
});
