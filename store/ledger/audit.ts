import pg from 'pg';
import { toSafeInt, type Db } from '../db.js';

/** The ledger audit: re-derives balances from the append-only entries and checks every invariant. */

export interface AuditProblem {
  kind: AuditCheckKind;
  id: string;
  detail: string;
}

export interface AuditReport {
  ok: boolean;
  checked: { accounts: number; transactions: number; entries: number };
  problems: AuditProblem[];
}

export interface AuditScope {
  /**
   * Audit one tenant only: its transactions, its accounts (with every entry and hold on them) and
   * its holds. Omitted: the whole ledger. Tests that run beside other test files audit their own
   * tenants, so a problem is reported by the file that caused it.
   */
  tenantId?: string;
}

/**
 * Each check is one query returning (id, detail) rows that break an invariant. `$1` is the tenant
 * of a scoped audit, NULL for the whole ledger (the statements are unnamed, so PostgreSQL plans
 * them with the value and drops the `$1 IS NULL OR …` branch that does not apply).
 */
const CHECKS = [
  {
    // Per currency: a conversion (store/ledger/fx-post.ts) is one transaction in two currencies,
    // each balanced through an FX account; debits == credits in total would not be enough.
    kind: 'unbalanced_transaction',
    sql: `SELECT transaction_id AS id,
            currency || ': debits ' || coalesce(sum(amount) FILTER (WHERE direction = 'debit'), 0)
              || ' credits ' || coalesce(sum(amount) FILTER (WHERE direction = 'credit'), 0) AS detail
          FROM ledger_entries
          WHERE $1::text IS NULL OR transaction_id IN (SELECT id FROM ledger_transactions WHERE tenant_id = $1)
          GROUP BY transaction_id, currency
          HAVING coalesce(sum(amount) FILTER (WHERE direction = 'debit'), 0)
              <> coalesce(sum(amount) FILTER (WHERE direction = 'credit'), 0)`,
  },
  {
    kind: 'empty_transaction',
    sql: `SELECT t.id, 'no entries' AS detail FROM ledger_transactions t
          WHERE ($1::text IS NULL OR t.tenant_id = $1)
            AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id)`,
  },
  {
    // An account's balance is its stored balance plus its credits not folded in yet (schema/0011).
    kind: 'balance_mismatch',
    sql: `SELECT a.id, 'balance ' || (a.balance + coalesce(p.pending, 0)) || ' but entries sum to ' || coalesce(s.net, 0) AS detail
          FROM accounts a LEFT JOIN (
            SELECT account_id, sum(CASE direction WHEN 'credit' THEN amount ELSE -amount END) AS net
            FROM ledger_entries
            WHERE $1::text IS NULL OR account_id IN (SELECT id FROM accounts WHERE tenant_id = $1)
            GROUP BY account_id) s ON s.account_id = a.id
          LEFT JOIN (
            SELECT account_id, sum(amount) AS pending FROM ledger_pending_credits
            WHERE $1::text IS NULL OR account_id IN (SELECT id FROM accounts WHERE tenant_id = $1)
            GROUP BY account_id) p ON p.account_id = a.id
          WHERE ($1::text IS NULL OR a.tenant_id = $1) AND a.balance + coalesce(p.pending, 0) <> coalesce(s.net, 0)`,
  },
  {
    // A pending credit stands for exactly one credit entry of its amount on its account.
    kind: 'pending_credit_invalid',
    sql: `SELECT p.entry_id AS id, 'pending credit of ' || p.amount || ' on ' || p.account_id || ' without that credit entry' AS detail
          FROM ledger_pending_credits p LEFT JOIN ledger_entries e
            ON e.id = p.entry_id AND e.account_id = p.account_id AND e.direction = 'credit' AND e.amount = p.amount
          WHERE e.id IS NULL
            AND ($1::text IS NULL OR p.account_id IN (SELECT id FROM accounts WHERE tenant_id = $1))`,
  },
  {
    kind: 'held_mismatch',
    sql: `SELECT a.id, 'held ' || a.held || ' but active holds sum to ' || coalesce(h.total, 0) AS detail
          FROM accounts a LEFT JOIN (
            SELECT account_id, sum(amount) AS total FROM holds
            WHERE status = 'active' AND ($1::text IS NULL OR account_id IN (SELECT id FROM accounts WHERE tenant_id = $1))
            GROUP BY account_id) h ON h.account_id = a.id
          WHERE ($1::text IS NULL OR a.tenant_id = $1) AND a.held <> coalesce(h.total, 0)`,
  },
  {
    kind: 'user_overdrawn',
    sql: `SELECT id, 'balance ' || balance || ', held ' || held AS detail FROM accounts
          WHERE ($1::text IS NULL OR tenant_id = $1) AND type = 'user' AND (balance < 0 OR balance - held < 0)`,
  },
  {
    kind: 'entry_currency_mismatch',
    sql: `SELECT e.id, 'entry ' || e.currency || ' on ' || a.currency || ' account' AS detail
          FROM ledger_entries e JOIN accounts a ON a.id = e.account_id
          WHERE ($1::text IS NULL OR a.tenant_id = $1) AND e.currency <> a.currency`,
  },
  {
    // No foreign key on the entries' account (schema/0011): every entry names an existing account.
    kind: 'entry_account_missing',
    sql: `SELECT e.id, 'entry on missing account ' || e.account_id AS detail
          FROM ledger_entries e
          WHERE ($1::text IS NULL OR e.transaction_id IN (SELECT id FROM ledger_transactions WHERE tenant_id = $1))
            AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id)`,
  },
  {
    // A hold resolves at most once: posted holds have exactly one posting transaction (which
    // debits the hold's account by the posted amount); active and voided holds have none.
    kind: 'hold_resolution_invalid',
    sql: `SELECT h.id, h.status || ' hold with ' || count(t.id) || ' posting transactions' AS detail
          FROM holds h LEFT JOIN ledger_transactions t ON t.hold_id = h.id
          WHERE $1::text IS NULL OR h.tenant_id = $1
          GROUP BY h.id, h.status
          HAVING count(t.id) <> CASE h.status WHEN 'posted' THEN 1 ELSE 0 END
          UNION ALL
          SELECT h.id, 'posted ' || h.posted_amount || ' but debited ' || coalesce(sum(e.amount), 0) AS detail
          FROM holds h JOIN ledger_entries e
            ON e.transaction_id = h.resolution_transaction_id AND e.account_id = h.account_id AND e.direction = 'debit'
          WHERE h.status = 'posted' AND ($1::text IS NULL OR h.tenant_id = $1)
          GROUP BY h.id, h.posted_amount HAVING coalesce(sum(e.amount), 0) <> h.posted_amount`,
  },
] as const;

export type AuditCheckKind = (typeof CHECKS)[number]['kind'];

/** The invariants the audit checks, one query each (store/ledger/audit.test.ts plants a breach of every one). */
export const AUDIT_CHECK_KINDS: readonly AuditCheckKind[] = CHECKS.map((check) => check.kind);

const PROBLEMS_PER_CHECK_MAX = 100;

/**
 * Re-derives every balance from the immutable entries and checks the ledger's invariants, on
 * `db` (a pool, or a client inside a transaction: the audit then sees that transaction's rows).
 */
export async function auditLedger(db: Db, scope: AuditScope = {}): Promise<AuditReport> {
  if (!(db instanceof pg.Pool)) return auditIn(db, scope);
  // Every check and the counts see ONE snapshot (on a primary under load, or on a standby: read-only
  // transactions run there), so the report describes one moment of the ledger.
  const client = await db.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const report = await auditIn(client, scope);
    await client.query('COMMIT');
    return report;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The checks on the caller's client or transaction. */
async function auditIn(db: Db, scope: AuditScope): Promise<AuditReport> {
  const tenantId = scope.tenantId ?? null;
  const problems: AuditProblem[] = [];
  for (const check of CHECKS) {
    const { rows } = await db.query(`${check.sql} LIMIT ${PROBLEMS_PER_CHECK_MAX}`, [tenantId]);
    for (const row of rows) problems.push({ kind: check.kind, id: row.id as string, detail: row.detail as string });
  }
  const { rows } = await db.query(
    `SELECT (SELECT count(*) FROM accounts WHERE $1::text IS NULL OR tenant_id = $1) AS accounts,
            (SELECT count(*) FROM ledger_transactions WHERE $1::text IS NULL OR tenant_id = $1) AS transactions,
            (SELECT count(*) FROM ledger_entries
             WHERE $1::text IS NULL OR account_id IN (SELECT id FROM accounts WHERE tenant_id = $1)) AS entries`,
    [tenantId],
  );
  const counts = rows[0];
  return {
    ok: problems.length === 0,
    checked: {
      accounts: toSafeInt(counts.accounts as string),
      transactions: toSafeInt(counts.transactions as string),
      entries: toSafeInt(counts.entries as string),
    },
    problems,
  };
}
