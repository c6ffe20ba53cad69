import { newId } from '../../domain/ids.js';
import { newWebhookSecret } from '../../domain/notifications/signature.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `webhook_endpoints` table: merchants' endpoints, where events are POSTed, signed with the
 * endpoint's secret. The secret is shown once, when the endpoint is created; reads never return it.
 */

export interface WebhookEndpoint {
  id: string;
  object: 'webhook_endpoint';
  url: string;
  /** Event types, or `['*']` for all of them. */
  events: string[];
  status: 'enabled' | 'disabled';
  created_at: string;
}

/** Shown once, in the answer to the create request. */
export type WebhookEndpointWithSecret = WebhookEndpoint & { secret: string };

const endpoint = rowMapper<WebhookEndpoint>({
  id: col.text('id'),
  object: col.literal('webhook_endpoint'),
  url: col.text('url'),
  events: col.of<string[]>('events'),
  status: col.of<WebhookEndpoint['status']>('status'),
  created_at: col.isoTimestamp('created_at'),
});

/** `url` and `events` are validated by the API (http(s) URL; known event types or `*`). */
export async function createWebhookEndpoint(
  db: Db,
  input: { tenantId: string; url: string; events: string[] },
): Promise<WebhookEndpointWithSecret> {
  const secret = newWebhookSecret();
  const { rows } = await db.query(
    `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${endpoint.columns()}`,
    [newId('webhookEndpoint'), input.tenantId, input.url, input.events, secret],
  );
  return { ...endpoint.map(rows[0]), secret };
}

/** The tenant's endpoint without its secret; null when it has none with this id. */
export async function getWebhookEndpoint(db: Db, tenantId: string, id: string): Promise<WebhookEndpoint | null> {
  const { rows } = await db.query(`SELECT ${endpoint.columns()} FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  return rows[0] ? endpoint.map(rows[0]) : null;
}

/** Newest first. */
export async function listWebhookEndpoints(db: Db, tenantId: string, page: PageQuery): Promise<ListPage<WebhookEndpoint>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${endpoint.columns()} FROM webhook_endpoints WHERE tenant_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [tenantId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, endpoint.map);
}

/** The ids of the tenant's enabled endpoints subscribed to `topic` (or to every event), in id order. */
export async function listSubscribedEndpointIds(db: Db, tenantId: string, topic: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM webhook_endpoints
     WHERE tenant_id = $1 AND status = 'enabled' AND ($2 = ANY(events) OR '*' = ANY(events)) ORDER BY id`,
    [tenantId, topic],
  );
  return rows.map((row) => row.id);
}
