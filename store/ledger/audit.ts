import { toSafeInt, type Db } from '../db.js';

/** The ledger audit: re-derives balances from the append-only entries and checks every invariant. */

export interface AuditProblem {
  kind:
    | 'unbalanced_transaction'
    | 'empty_transaction'
    | 'balance_mismatch'
    | 'held_mismatch'
    | 'user_overdrawn'
    | 'entry_currency_mismatch'
    | 'hold_resolution_invalid';
  id: string;
  detail: string;
}

export interface AuditReport {
  ok: boolean;
  checked: { accounts: number; transactions: number; entries: number };
  problems: AuditProblem[];
}

/** Each check is one query returning (id, detail) rows that break an invariant. */
const CHECKS: { kind: AuditProblem['kind']; sql: string }[] = [
  {
    kind: 'unbalanced_transaction',
    sql: `SELECT transaction_id AS id,
            currency || ': debits ' || sum(amount) FILTER (WHERE direction = 'debit')
              || ' credits ' || sum(amount) FILTER (WHERE direction = 'credit') AS detail
          FROM ledger_entries GROUP BY transaction_id, currency
          HAVING coalesce(sum(amount) FILTER (WHERE direction = 'debit'), 0)
              <> coalesce(sum(amount) FILTER (WHERE direction = 'credit'), 0)`,
  },
  {
    kind: 'empty_transaction',
    sql: `SELECT t.id, 'no entries' AS detail FROM ledger_transactions t
          WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id)`,
  },
  {
    kind: 'balance_mismatch',
    sql: `SELECT a.id, 'balance ' || a.balance || ' but entries sum to ' || coalesce(s.net, 0) AS detail
          FROM accounts a LEFT JOIN (
            SELECT account_id, sum(CASE direction WHEN 'credit' THEN amount ELSE -amount END) AS net
            FROM ledger_entries GROUP BY account_id) s ON s.account_id = a.id
          WHERE a.balance <> coalesce(s.net, 0)`,
  },
  {
    kind: 'held_mismatch',
    sql: `SELECT a.id, 'held ' || a.held || ' but active holds sum to ' || coalesce(h.total, 0) AS detail
          FROM accounts a LEFT JOIN (
            SELECT account_id, sum(amount) AS total FROM holds WHERE status = 'active' GROUP BY account_id
          ) h ON h.account_id = a.id
          WHERE a.held <> coalesce(h.total, 0)`,
  },
  {
    kind: 'user_overdrawn',
    sql: `SELECT id, 'balance ' || balance || ', held ' || held AS detail FROM accounts
          WHERE type = 'user' AND (balance < 0 OR balance - held < 0)`,
  },
  {
    kind: 'entry_currency_mismatch',
    sql: `SELECT e.id, 'entry ' || e.currency || ' on ' || a.currency || ' account' AS detail
          FROM ledger_entries e JOIN accounts a ON a.id = e.account_id WHERE e.currency <> a.currency`,
  },
  {
    // A hold resolves at most once: posted holds have exactly one posting transaction (which
    // debits the hold's account by the posted amount); active and voided holds have none.
    kind: 'hold_resolution_invalid',
    sql: `SELECT h.id, h.status || ' hold with ' || count(t.id) || ' posting transactions' AS detail
          FROM holds h LEFT JOIN ledger_transactions t ON t.hold_id = h.id
          GROUP BY h.id, h.status
          HAVING count(t.id) <> CASE h.status WHEN 'posted' THEN 1 ELSE 0 END
          UNION ALL
          SELECT h.id, 'posted ' || h.posted_amount || ' but debited ' || coalesce(sum(e.amount), 0) AS detail
          FROM holds h JOIN ledger_entries e
            ON e.transaction_id = h.resolution_transaction_id AND e.account_id = h.account_id AND e.direction = 'debit'
          WHERE h.status = 'posted'
          GROUP BY h.id, h.posted_amount HAVING coalesce(sum(e.amount), 0) <> h.posted_amount`,
  },
];

const PROBLEMS_PER_CHECK_MAX = 100;

/** Re-derives every balance from the immutable entries and checks the ledger's invariants. */
export async function auditLedger(db: Db): Promise<AuditReport> {
  const problems: AuditProblem[] = [];
  for (const check of CHECKS) {
    const { rows } = await db.query(`${check.sql} LIMIT ${PROBLEMS_PER_CHECK_MAX}`);
    for (const row of rows) problems.push({ kind: check.kind, id: row.id as string, detail: row.detail as string });
  }
  const { rows } = await db.query(
    `SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM ledger_transactions) AS transactions,
            (SELECT count(*) FROM ledger_entries) AS entries`,
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
