import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { EventType } from '../../domain/notifications/types.js';
import type { Db } from '../db.js';
import { assertInTransaction, col, rowMapper } from '../rows.js';

/**
 * The `outbox` table (the transactional outbox): domain events written in the transaction of the
 * change they describe, relayed to their workflows by the relay (workers/outbox-relay.ts), kept a
 * while for audits, then purged. An insert NOTIFYs `outbox` at commit (schema/0005), waking the relay.
 */

export interface OutboxEvent {
  /** The event id (a new `evt_` id when absent); a payment's events keep the id of their log entry. */
  id?: string;
  tenantId: string;
  topic: EventType;
  /** Unique per tenant: the same change never emits its event twice (retried activities, replays). */
  idempotencyKey: string;
  payload: Record<string, unknown>;
}

/** The channel the insert trigger NOTIFYs (schema/0005). */
export const OUTBOX_CHANNEL = 'outbox';

/**
 * Appends a domain event to the outbox. Call it with the client of the transaction that makes the
 * change the event describes: both commit or neither does. The relay delivers it later.
 * Returns the event id, or null when an event with this key exists already.
 */
export async function appendOutboxEvent(client: pg.PoolClient, event: OutboxEvent): Promise<string | null> {
  const id = event.id ?? newId('event');
  const { rowCount } = await client.query(
    `INSERT INTO outbox (id, tenant_id, topic, idempotency_key, payload) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
    [id, event.tenantId, event.topic, event.idempotencyKey, event.payload],
  );
  return rowCount === 1 ? id : null;
}

/** Appends many events in one statement (a payroll batch's `payroll.paid`); keys already there are skipped. */
export async function appendOutboxEvents(client: pg.PoolClient, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  await client.query(
    `INSERT INTO outbox (id, tenant_id, topic, idempotency_key, payload)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
    [
      events.map((e) => e.id ?? newId('event')), events.map((e) => e.tenantId), events.map((e) => e.topic),
      events.map((e) => e.idempotencyKey), events.map((e) => JSON.stringify(e.payload)),
    ],
  );
}

/** A stored event, as planning reads it. */
export interface StoredOutboxEvent {
  id: string;
  tenantId: string;
  topic: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

const storedEvent = rowMapper<StoredOutboxEvent>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  topic: col.text('topic'),
  payload: col.json<Record<string, unknown>>('payload'),
  createdAt: col.timestamp('created_at'),
});

/** The tenant's event; null when there is none with this id (or it was purged). */
export async function getOutboxEvent(db: Db, tenantId: string, id: string): Promise<StoredOutboxEvent | null> {
  const { rows: [row] } = await db.query(`SELECT ${storedEvent.columns()} FROM outbox WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  return row ? storedEvent.map(row) : null;
}

// ---- The relay ----------------------------------------------------------------------------------

/** An event claimed by the relay. */
export interface ClaimedOutboxEvent {
  id: string;
  tenantId: string;
  topic: string;
  createdAt: Date;
}

const claimedEvent = rowMapper<ClaimedOutboxEvent>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  topic: col.text('topic'),
  createdAt: col.timestamp('created_at'),
});

/**
 * Claims up to `limit` unrelayed events, oldest first, until the caller's transaction ends
 * (`FOR UPDATE SKIP LOCKED`: relays in several processes share the work, none waits for another).
 * `tenantIds` keeps only those tenants' events (tests share one database); all when null.
 */
export async function claimOutboxEvents(
  client: pg.PoolClient,
  input: { limit: number; tenantIds: string[] | null },
): Promise<ClaimedOutboxEvent[]> {
  assertInTransaction(client, 'claimOutboxEvents');
  const { rows } = await client.query(
    `SELECT ${claimedEvent.columns()} FROM outbox
     WHERE processed_at IS NULL AND ($2::text[] IS NULL OR tenant_id = ANY($2))
     ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [input.limit, input.tenantIds],
  );
  return rows.map(claimedEvent.map);
}

/** Marks claimed events relayed (in the claim's transaction: a crash before its commit marks nothing). */
export async function markOutboxEventsRelayed(client: pg.PoolClient, ids: string[]): Promise<void> {
  await client.query('UPDATE outbox SET processed_at = now() WHERE id = ANY($1)', [ids]);
}

const PURGE_BATCH = 10_000;

/** Deletes events relayed more than `retentionMs` ago, in batches (short statements); returns how many. */
export async function purgeRelayedEvents(db: Db, retentionMs: number): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await db.query(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE processed_at < now() - make_interval(secs => $1::double precision / 1000) LIMIT $2)`,
      [retentionMs, PURGE_BATCH],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < PURGE_BATCH) return total;
  }
}

/** Events not relayed yet, of every tenant (the bench waits for it to reach 0). */
export async function countUnrelayedEvents(db: Db): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM outbox WHERE processed_at IS NULL');
  return rows[0].n as number;
}

export interface UnrelayedTopic {
  topic: string;
  unrelayed: number;
  /** When the oldest event not relayed yet was written: the relay's lag for this topic. */
  oldestCreatedAt: string;
}

/** Events not relayed yet, per topic, with the oldest one's time (`npm run ops -- outbox`; reads the partial index). */
export async function listUnrelayedTopics(db: Db): Promise<UnrelayedTopic[]> {
  const { rows } = await db.query<{ topic: string; n: number; oldest: Date }>(
    `SELECT topic, count(*)::int AS n, min(created_at) AS oldest FROM outbox WHERE processed_at IS NULL
     GROUP BY topic ORDER BY topic`,
  );
  return rows.map((r) => ({ topic: r.topic, unrelayed: r.n, oldestCreatedAt: r.oldest.toISOString() }));
}

/** Subscribes a dedicated connection (not a pooled one: it must hold the LISTEN) to new events. */
export async function listenOutbox(client: pg.Client): Promise<void> {
  await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
}
