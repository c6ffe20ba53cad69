import type pg from 'pg';

/** A server process of PostgreSQL, from pg_stat_activity. */
export interface PgProcess {
  pid: number;
  /** true: a backend (or autovacuum worker) of `databaseName`; false: a background process of the postmaster. */
  ofDatabase: boolean;
}

/**
 * The server processes serving `databaseName` and the postmaster's background processes
 * (checkpointer, walwriter, …: no database). Needs a role that sees every pid (superuser or
 * pg_read_all_stats). For the benchmarks' CPU meter (bench/cpu.ts).
 */
export async function listPgProcesses(db: pg.ClientBase | pg.Pool, databaseName: string): Promise<PgProcess[]> {
  const { rows } = await db.query<{ pid: number; of_database: boolean }>(
    `SELECT pid, datname IS NOT DISTINCT FROM $1 AS of_database FROM pg_stat_activity
      WHERE datname = $1 OR (datname IS NULL AND backend_type <> 'client backend')`,
    [databaseName],
  );
  return rows.map((r) => ({ pid: r.pid, ofDatabase: r.of_database }));
}
