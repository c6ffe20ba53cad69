import type { Db } from './db.js';

/**
 * The rows that are durable requests to start a workflow: a transfer, top-up, payment, notification
 * or leave request is written first, and its workflow (id derived from the row id) is started after.
 * Whatever can come between the two (a crash, an ambiguous start) leaves a row in its initial status
 * with maybe no run: the start reconciler (workers/start-reconciler.ts) finds those here. A dead
 * letter requeued by ops is the same: the delivery is `queued` again before its retry run starts.
 * Also: the request keys (Idempotency-Key) that let a retry adopt the row its first attempt wrote.
 */

export const START_KINDS = ['transfer', 'topup', 'payment', 'notification', 'leave_request', 'dead_letter_retry', 'payroll_run', 'offboarding', 'broadcast', 'digest', 'review_cycle', 'offer', 'interview'] as const;
export type StartKind = (typeof START_KINDS)[number];

/**
 * Each kind's table, the condition of its initial status, the time it entered it and the run's
 * key (all constants, never user input).
 */
const TABLES: Record<StartKind, { table: string; initial: string; since: string; key: string }> = {
  transfer: { table: 'transfers', initial: `status = 'pending'`, since: 'created_at', key: 'id' },
  topup: { table: 'topups', initial: `status = 'pending'`, since: 'created_at', key: 'id' },
  payment: { table: 'payments', initial: `status = 'initiated'`, since: 'created_at', key: 'id' },
  // An outbox event's notifications (source_key) are started by their domainEvent run, a durable parent.
  notification: { table: 'notifications', initial: `status IN ('scheduled', 'processing') AND source_key IS NULL`, since: 'created_at', key: 'id' },
  leave_request: { table: 'leave_requests', initial: `status = 'pending'`, since: 'created_at', key: 'id' },
  payroll_run: { table: 'payroll_runs', initial: `status = 'calculating'`, since: 'created_at', key: 'id' },
  // An offer waiting for its approver (`offer-<off_id>`); an interview not reminded yet (`interview-<int_id>`).
  offer: { table: 'offers', initial: `status = 'awaiting_approval'`, since: 'created_at', key: 'id' },
  interview: { table: 'interviews', initial: `reminded_at IS NULL AND feedback_at IS NULL`, since: 'created_at', key: 'id' },
  review_cycle: { table: 'review_cycles', initial: `status = 'opening'`, since: 'created_at', key: 'id' },
  broadcast: { table: 'broadcasts', initial: `status = 'queued'`, since: 'created_at', key: 'id' },
  // A user's open e-mail digest (its run `digest-<dgst_id>` is started by the e-mail that opened it).
  digest: { table: 'notification_digests', initial: `status = 'open'`, since: 'created_at', key: 'id' },
  // An employee whose termination is scheduled (the offboarding run is `offboarding-<employee id>`).
  offboarding: { table: 'employees', initial: `termination_date IS NOT NULL AND status = 'active'`, since: 'termination_requested_at', key: 'id' },
  // A dead letter requeued by ops (retries > 0): its n-th retry run is `dead-letter-retry-<id>-<n>`.
  dead_letter_retry: { table: 'deliveries', initial: `status = 'queued' AND retries > 0`, since: 'updated_at', key: `id || '-' || retries` },
};

export type KeyedTable = 'transfers' | 'topups' | 'payments' | 'notifications' | 'leave_requests' | 'refunds';

export interface UnstartedRow {
  id: string;
  tenantId: string;
  /** The run's business key (the workflow id is `<idPrefix><key>`): the id, or `<id>-<retries>` for a dead-letter retry. */
  key: string;
}

export interface UnstartedQuery {
  /** Only rows written at least this long ago (the API's own start has had its chance). */
  afterMs: number;
  limit: number;
  /** Only these tenants (tests share one database); all when absent. */
  tenantIds?: string[] | undefined;
}

function unstartedWhere(kind: StartKind): string {
  const { initial, since } = TABLES[kind];
  return `${initial} AND run_seen_at IS NULL AND ${since} <= now() - make_interval(secs => $1::double precision / 1000)
    AND ($2::text[] IS NULL OR tenant_id = ANY($2))`;
}

/** Rows in their initial status, older than `afterMs`, whose run nobody has confirmed yet: oldest first. */
export async function listUnstartedRows(db: Db, kind: StartKind, query: UnstartedQuery): Promise<UnstartedRow[]> {
  const { rows } = await db.query(
    `SELECT id, tenant_id, ${TABLES[kind].key} AS key FROM ${TABLES[kind].table} WHERE ${unstartedWhere(kind)}
     ORDER BY ${TABLES[kind].since} LIMIT $3`,
    [query.afterMs, query.tenantIds ?? null, query.limit],
  );
  return rows.map((row) => ({ id: row.id as string, tenantId: row.tenant_id as string, key: row.key as string }));
}

/** How many such rows there are (the reconciler's gauge). */
export async function countUnstartedRows(db: Db, kind: StartKind, query: Omit<UnstartedQuery, 'limit'>): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM ${TABLES[kind].table} WHERE ${unstartedWhere(kind)}`,
    [query.afterMs, query.tenantIds ?? null],
  );
  return rows[0].n as number;
}

/**
 * Records that the row's run exists (found or started): the reconciler looks at it no more (for a
 * dead letter: until ops requeue it again, which clears the mark).
 */
export async function markRunSeen(db: Db, kind: StartKind, row: UnstartedRow): Promise<void> {
  await db.query(`UPDATE ${TABLES[kind].table} SET run_seen_at = now() WHERE id = $1 AND ${TABLES[kind].key} = $2`, [row.id, row.key]);
}

/** Whether the row is still in its initial status for this run (false once its run moved it, or it is gone). */
export async function isStillInitial(db: Db, kind: StartKind, row: UnstartedRow): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM ${TABLES[kind].table} WHERE id = $1 AND ${TABLES[kind].key} = $2 AND ${TABLES[kind].initial}`, [row.id, row.key],
  );
  return rows.length > 0;
}

/**
 * Frees a request key held by a row older than the idempotency retention: the key's record has
 * expired, so the contract lets the client use the key for a new request (the old row keeps its
 * data, without the key). Called before an insert that carries the key.
 */
export async function releaseExpiredRequestKey(
  db: Db, table: KeyedTable, tenantId: string, requestKey: string, retentionHours: number,
): Promise<void> {
  await db.query(
    `UPDATE ${table} SET request_key = NULL
     WHERE tenant_id = $1 AND request_key = $2 AND created_at < now() - make_interval(hours => $3)`,
    [tenantId, requestKey, retentionHours],
  );
}

/** The id of the tenant's row that holds `requestKey`, if any. */
async function findByRequestKey(db: Db, table: KeyedTable, tenantId: string, requestKey: string): Promise<string | null> {
  const { rows } = await db.query(`SELECT id FROM ${table} WHERE tenant_id = $1 AND request_key = $2`, [tenantId, requestKey]);
  return (rows[0]?.id as string | undefined) ?? null;
}

/**
 * The row an earlier attempt of the request wrote with `requestKey` (an insert carrying the key
 * met it: ON CONFLICT DO NOTHING), loaded by `load` from its id. It exists, so not seeing it is an
 * error, never a reason to insert again.
 */
export async function adoptByRequestKey<T>(
  db: Db, table: KeyedTable, tenantId: string, requestKey: string | null, load: (id: string) => Promise<T | null>,
): Promise<{ id: string; row: T }> {
  const id = requestKey === null ? null : await findByRequestKey(db, table, tenantId, requestKey);
  const row = id ? await load(id) : null;
  if (!id || !row) throw new Error(`${table} row with request key conflicted but is not visible (tenant ${tenantId})`);
  return { id, row };
}

/** How a request carrying a key is written: a new row, or the one its first attempt wrote. */
export interface RequestKey {
  /** The Idempotency-Key, or null when the client sent none. */
  key: string | null;
  /** IDEMPOTENCY_RETENTION_HOURS: an older row's key is free again. */
  retentionHours: number;
}
