import type pg from 'pg';

/** Tables a test may lock a row of (a constant list: the name goes into the SQL text). */
export type LockableTable = 'payments' | 'employees' | 'leave_requests';

/**
 * Holds one row's lock in a transaction of its own, so that a step needing it waits until
 * `release`; `waiters()` counts the sessions blocked behind it (to know the step got there).
 */
export async function holdRowLock(pool: pg.Pool, table: LockableTable, id: string) {
  const client = await pool.connect();
  await client.query('BEGIN');
  await client.query(`SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE`, [id]);
  const holder = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  return {
    waiters: async () => (await pool.query(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [holder],
    )).rows[0].n as number,
    release: async () => {
      await client.query('COMMIT');
      client.release();
    },
  };
}
