import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { EventType } from '../../domain/notifications/types.js';

export interface OutboxEvent {
  tenantId: string;
  topic: EventType;
  /** Unique per tenant: the same change never emits its event twice (retried activities, replays). */
  idempotencyKey: string;
  payload: Record<string, unknown>;
}

/**
 * Appends a domain event to the outbox. Call it with the client of the transaction that makes the
 * change the event describes: both commit or neither does. The relay delivers it later.
 * Returns the event id, or null when an event with this key exists already.
 */
export async function appendOutboxEvent(client: pg.PoolClient, event: OutboxEvent): Promise<string | null> {
  const id = newId('event');
  const { rowCount } = await client.query(
    `INSERT INTO outbox (id, tenant_id, topic, idempotency_key, payload) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
    [id, event.tenantId, event.topic, event.idempotencyKey, event.payload],
  );
  return rowCount === 1 ? id : null;
}
