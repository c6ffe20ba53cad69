import type pg from 'pg';

/**
 * A year of synthetic, balanced history for benchmarks (bench/statements.ts), written by SQL in
 * one statement instead of a hundred thousand postings: `count` ledger transactions spread evenly
 * over the last 365 days, each crediting `accountId` from `systemId` (every third one the other
 * way), then both accounts' stored balances set to what their entries say. The ledger audit
 * passes on the result (user balances stay ≥ 0: two credits for every debit of at most the same size).
 */
export async function writeSyntheticHistory(pool: pg.Pool, input: { tenantId: string; accountId: string; systemId: string; count: number }): Promise<void> {
  await pool.query(
    `WITH tx AS (
       INSERT INTO ledger_transactions (id, tenant_id, idempotency_key, kind, reference_id, created_at)
       SELECT $2 || '_tx_' || i, $1, $2 || ':' || i, 'synthetic', NULL, now() - interval '365 days' + i * ($4::float8 / $3) * interval '1 second'
       FROM generate_series(1, $3) AS i
       RETURNING id, created_at, split_part(id, '_tx_', 2)::int AS i)
     INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount, currency, created_at)
     SELECT tx.id || side.suffix, tx.id, side.account, side.direction, 100 + tx.i % 50, 'USD', tx.created_at
     FROM tx CROSS JOIN LATERAL (VALUES
       ('_u', $2, CASE WHEN tx.i % 3 = 0 THEN 'debit' ELSE 'credit' END),
       ('_s', $5, CASE WHEN tx.i % 3 = 0 THEN 'credit' ELSE 'debit' END)) AS side(suffix, account, direction)`,
    [input.tenantId, input.accountId, input.count, 365 * 86_400, input.systemId],
  );
  await pool.query(
    `UPDATE accounts a SET balance = s.balance FROM (
       SELECT account_id, sum(CASE direction WHEN 'credit' THEN amount ELSE -amount END) AS balance FROM ledger_entries
       WHERE account_id = ANY($1) GROUP BY account_id) s
     WHERE a.id = s.account_id`,
    [[input.accountId, input.systemId]],
  );
  await pool.query('VACUUM ANALYZE ledger_entries');
}

/** The bench's baseline: the history reads without `ledger_entries_account_time` (schema/0014). Never on a live database. */
export async function dropHistoryIndexForBaseline(pool: pg.Pool): Promise<void> {
  await pool.query('DROP INDEX ledger_entries_account_time');
  await pool.query('ANALYZE ledger_entries');
}
