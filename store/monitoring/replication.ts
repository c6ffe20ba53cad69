import type pg from 'pg';

/**
 * Physical replication, seen and steered from SQL: what a primary's standbys report
 * (pg_stat_replication), where a server's WAL is, promotion, and which standbys a commit waits
 * for. Needs a superuser. For the primary/standby pair of the topology (scripts/topology/pg-pair.ts).
 */

/** One standby as its primary sees it. */
export interface StandbyReplication {
  applicationName: string;
  /** `startup`, `catchup`, `streaming`, `backup`, `stopping`. */
  state: string;
  /** `sync`: commits wait for its flush; `async`, `potential`, `quorum`. */
  syncState: string;
  sentLsn: string | null;
  flushLsn: string | null;
  replayLsn: string | null;
}

export async function listStandbys(db: pg.ClientBase | pg.Pool): Promise<StandbyReplication[]> {
  const { rows } = await db.query<{
    application_name: string; state: string; sync_state: string; sent_lsn: string | null; flush_lsn: string | null; replay_lsn: string | null;
  }>(`SELECT application_name, state, sync_state, sent_lsn::text, flush_lsn::text, replay_lsn::text
        FROM pg_stat_replication ORDER BY application_name`);
  return rows.map((r) => ({
    applicationName: r.application_name, state: r.state, syncState: r.sync_state,
    sentLsn: r.sent_lsn, flushLsn: r.flush_lsn, replayLsn: r.replay_lsn,
  }));
}

export interface WalPosition {
  inRecovery: boolean;
  /** The primary's current WAL insert position, or the standby's last replayed one. */
  lsn: string | null;
}

export async function readWalPosition(db: pg.ClientBase | pg.Pool): Promise<WalPosition> {
  const { rows } = await db.query<{ in_recovery: boolean; lsn: string | null }>(
    `SELECT pg_is_in_recovery() AS in_recovery,
            (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn`,
  );
  return { inRecovery: rows[0]!.in_recovery, lsn: rows[0]!.lsn };
}

/** Whether replay on a standby reached `lsn` (e.g. the primary's position a moment ago). */
export async function replayedUpTo(db: pg.ClientBase | pg.Pool, lsn: string): Promise<boolean> {
  const { rows } = await db.query<{ reached: boolean }>(
    'SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS reached', [lsn],
  );
  return rows[0]!.reached;
}

/** Ends recovery on a standby and waits (up to `waitSeconds`) until it takes writes; false if it did not in time. */
export async function promote(db: pg.ClientBase, waitSeconds: number): Promise<boolean> {
  const { rows } = await db.query<{ promoted: boolean }>('SELECT pg_promote(true, $1) AS promoted', [waitSeconds]);
  return rows[0]!.promoted;
}

const STANDBY_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The standbys whose flush a commit waits for (`synchronous_standby_names`, written to
 * postgresql.auto.conf and reloaded); none: commits wait for no one (asynchronous). A backend
 * waiting for a standby that is gone is released by the reload.
 */
export async function setSynchronousStandbys(db: pg.ClientBase, names: string[]): Promise<void> {
  for (const name of names) if (!STANDBY_NAME.test(name)) throw new Error(`Not a standby name: ${name}`);
  // ALTER SYSTEM takes no parameters; the names are checked above.
  await db.query(`ALTER SYSTEM SET synchronous_standby_names = '${names.join(', ')}'`);
  await db.query('SELECT pg_reload_conf()');
}

/** The setting as this session sees it (a reload reaches sessions between statements). */
export async function readSynchronousStandbys(db: pg.ClientBase): Promise<string> {
  const { rows } = await db.query<{ names: string }>(`SELECT current_setting('synchronous_standby_names') AS names`);
  return rows[0]!.names;
}
