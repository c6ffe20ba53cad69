import { randomBytes } from 'node:crypto';
import { newId } from '../../domain/ids.js';
import type { Db } from '../../platform/db.js';
import { toDelivery, DELIVERY_COLUMNS, type Delivery } from './deliveries.js';
import { checkPageLimit, iso, toPage, type ListPage, type PageQuery } from './rows.js';

/** Merchant webhook endpoints: where events are POSTed, signed with the endpoint's secret. */

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

const COLUMNS = 'id, url, events, status, created_at';

function toEndpoint(row: Record<string, unknown>): WebhookEndpoint {
  return {
    id: row.id as string, object: 'webhook_endpoint', url: row.url as string, events: row.events as string[],
    status: row.status as WebhookEndpoint['status'], created_at: iso(row.created_at),
  };
}

/** `whsec_` + 32 random bytes, base64url (the signing key of Steadfast-Signature). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** `url` and `events` are validated by the API (http(s) URL; known event types or `*`). */
export async function createWebhookEndpoint(
  db: Db,
  input: { tenantId: string; url: string; events: string[] },
): Promise<WebhookEndpointWithSecret> {
  const secret = newWebhookSecret();
  const { rows } = await db.query(
    `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [newId('webhookEndpoint'), input.tenantId, input.url, input.events, secret],
  );
  return { ...toEndpoint(rows[0]), secret };
}

/** The tenant's endpoint without its secret; null when it has none with this id. */
export async function getWebhookEndpoint(db: Db, tenantId: string, id: string): Promise<WebhookEndpoint | null> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  return rows[0] ? toEndpoint(rows[0]) : null;
}

/** Newest first. */
export async function listWebhookEndpoints(db: Db, tenantId: string, page: PageQuery): Promise<ListPage<WebhookEndpoint>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [tenantId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, toEndpoint);
}

/** The endpoint's deliveries (one per event), newest first. The caller checks the endpoint is the tenant's. */
export async function listEndpointDeliveries(
  db: Db,
  tenantId: string,
  endpointId: string,
  page: PageQuery,
): Promise<ListPage<Delivery>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${DELIVERY_COLUMNS} FROM deliveries
     WHERE kind = 'webhook' AND endpoint_id = $1 AND tenant_id = $2 AND ($3::text IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [endpointId, tenantId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, toDelivery);
}
