import type { Direction } from '../../domain/ledger/types.js';
import { prepared, toSafeInt, type Db } from '../db.js';

/**
 * An account's history read from its ledger entries, never from the stored balance: the balance at
 * an instant and statements (contract §2 "History"). An entry's time is its ledger transaction's
 * (`created_at`, the writing transaction's start). Both read through
 * `ledger_entries_account_time (account_id, created_at) INCLUDE (direction, amount)` (schema 0014):
 * the sums are index scans of the account's entries in a time range, without the table.
 */

const SIGNED = `CASE e.direction WHEN 'credit' THEN e.amount ELSE -e.amount END`;

/**
 * SQL for the balance before instant `t` of account `$1`, summing the shorter side of the account's
 * history: the entries before `t` when `t` lies in the older half of the time since its first
 * entry, else today's balance (stored + pending credits, schema/0011) minus the entries from `t` on.
 * Either way one statement, so one snapshot: the stored balance and the entries move together in
 * every ledger write, and the audit checks that they agree. A recent window costs its own entries,
 * not the account's whole past.
 */
const balanceBefore = (t: string) => `(
  SELECT CASE
    WHEN first.at IS NULL OR ${t} <= first.at THEN 0
    WHEN ${t} < first.at + (now() - first.at) / 2 THEN
      (SELECT coalesce(sum(${SIGNED}), 0) FROM ledger_entries e WHERE e.account_id = $1 AND e.created_at < ${t})
    ELSE a.balance + coalesce((SELECT sum(p.amount) FROM ledger_pending_credits p WHERE p.account_id = a.id), 0)
      - (SELECT coalesce(sum(${SIGNED}), 0) FROM ledger_entries e WHERE e.account_id = $1 AND e.created_at >= ${t})
  END
  FROM accounts a, (SELECT min(e.created_at) AS at FROM ledger_entries e WHERE e.account_id = $1) first
  WHERE a.id = $1)`;

/**
 * The posted balance at `at`: credits − debits of the entries written at or before it, at the
 * millisecond the API shows (`created_at` is kept in microseconds: an entry shown as …:05.123Z is in
 * the balance at …:05.123Z).
 */
export async function balanceAt(db: Db, accountId: string, at: Date): Promise<number> {
  const { rows } = await db.query(
    prepared('ledger-balance-at', `SELECT ${balanceBefore(`($2::timestamptz + interval '1 millisecond')`)} AS balance`),
    [accountId, at],
  );
  return toSafeInt(rows[0].balance as string);
}

export interface StatementEntry {
  id: string;
  transactionId: string;
  direction: Direction;
  amountMinor: number;
  balanceAfterMinor: number;
  description: string;
  createdAt: Date;
}

export interface Statement {
  openingBalanceMinor: number;
  closingBalanceMinor: number;
  totalDebitsMinor: number;
  totalCreditsMinor: number;
  entries: StatementEntry[];
}

/**
 * The account's entries in [`from`, `to`) in the order they were written, each with the balance
 * after it, and the balance before the first. One statement, so one snapshot: opening + credits −
 * debits = closing holds by construction and is checked (a broken sum is a bug, thrown). An entry's
 * description is its transfer's, else its kind and reference (`topup tu_…`, `payment_capture pay_…`).
 */
export async function statementOf(db: Db, accountId: string, from: Date, to: Date): Promise<Statement> {
  const { rows } = await db.query(
    prepared('ledger-statement', `
      WITH opening AS (SELECT ${balanceBefore('$2::timestamptz')} AS balance)
      SELECT o.balance AS opening, x.*
      FROM opening o
      LEFT JOIN LATERAL (
        SELECT e.id, e.transaction_id, e.direction, e.amount, e.created_at,
               sum(${SIGNED}) OVER (ORDER BY e.created_at, e.id) AS running,
               coalesce(tr.description, t.kind || coalesce(' ' || t.reference_id, '')) AS description
        FROM ledger_entries e
        JOIN ledger_transactions t ON t.id = e.transaction_id
        LEFT JOIN transfers tr ON tr.id = t.reference_id AND tr.transaction_id = t.id
        WHERE e.account_id = $1 AND e.created_at >= $2 AND e.created_at < $3
      ) x ON true
      ORDER BY x.created_at, x.id`),
    [accountId, from, to],
  );
  const openingBalanceMinor = toSafeInt(rows[0].opening as string);
  const entries: StatementEntry[] = [];
  let totalDebitsMinor = 0;
  let totalCreditsMinor = 0;
  for (const row of rows) {
    if (row.id === null) continue; // no entries in the window: the opening row alone
    const amountMinor = toSafeInt(row.amount as string);
    const direction = row.direction as Direction;
    if (direction === 'credit') totalCreditsMinor += amountMinor;
    else totalDebitsMinor += amountMinor;
    entries.push({
      id: row.id as string, transactionId: row.transaction_id as string, direction, amountMinor,
      balanceAfterMinor: openingBalanceMinor + toSafeInt(row.running as string),
      description: row.description as string, createdAt: row.created_at as Date,
    });
  }
  const closingBalanceMinor = openingBalanceMinor + totalCreditsMinor - totalDebitsMinor;
  const last = entries.at(-1);
  if (last && last.balanceAfterMinor !== closingBalanceMinor) {
    throw new Error(`statement of ${accountId}: the last entry's balance ${last.balanceAfterMinor} is not opening + credits − debits ${closingBalanceMinor}`);
  }
  return { openingBalanceMinor, closingBalanceMinor, totalDebitsMinor, totalCreditsMinor, entries };
}
