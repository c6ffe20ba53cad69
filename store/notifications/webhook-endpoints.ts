import pg from 'pg';
import { newId } from '../../domain/ids.js';
import { newWebhookSecret } from '../../domain/notifications/signature.js';
import { withTransaction, type Db } from '../db.js';
import { cancelQueuedEndpointDeliveries } from './deliveries.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `webhook_endpoints` table: merchants' endpoints, where events are POSTed, signed with the
 * endpoint's secret. The secret is shown once (at creation and at each rotation) and stored only
 * sealed (`secret_sealed`, AES-256-GCM under SECRETS_ENCRYPTION_KEYS): reads never return it,
 * and only the delivery activity opens it. A rotation keeps the replaced secret signing until its
 * grace ends; a deleted endpoint keeps its row (its deliveries stay listed) without any secret.
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

/** Seals a secret for storage (platform/secrets.ts `SecretBox`). */
export interface Sealer {
  seal(plaintext: string): string;
}

const endpoint = rowMapper<WebhookEndpoint>({
  id: col.text('id'),
  object: col.literal('webhook_endpoint'),
  url: col.text('url'),
  events: col.of<string[]>('events'),
  status: col.of<WebhookEndpoint['status']>('status'),
  created_at: col.isoTimestamp('created_at'),
});

const LIVE = 'deleted_at IS NULL';

/**
 * Creates an endpoint with a new secret, sealed; `'limit_reached'` when the tenant already has
 * `maxPerTenant` endpoints (deleted ones do not count). Creations of a tenant are serialised by an
 * advisory lock, so concurrent requests cannot overshoot the cap. `url` and `events` are
 * validated by the API (address policy, known event types or `*`).
 */
export async function createWebhookEndpoint(
  db: Db,
  input: { tenantId: string; url: string; events: string[]; sealer: Sealer; maxPerTenant: number },
): Promise<WebhookEndpointWithSecret | 'limit_reached'> {
  if (db instanceof pg.Pool) return withTransaction(db, (client) => createWebhookEndpoint(client, input));
  await db.query(`SELECT pg_advisory_xact_lock(hashtextextended('steadfast:webhook-endpoints:' || $1, 0))`, [input.tenantId]);
  const { rows: [count] } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM webhook_endpoints WHERE tenant_id = $1 AND ${LIVE}`, [input.tenantId],
  );
  if (count!.n >= input.maxPerTenant) return 'limit_reached';
  const secret = newWebhookSecret();
  const { rows } = await db.query(
    `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret_sealed) VALUES ($1, $2, $3, $4, $5) RETURNING ${endpoint.columns()}`,
    [newId('webhookEndpoint'), input.tenantId, input.url, input.events, input.sealer.seal(secret)],
  );
  return { ...endpoint.map(rows[0]), secret };
}

/** The tenant's endpoint without its secret; null when it has none with this id (or deleted it). */
export async function getWebhookEndpoint(db: Db, tenantId: string, id: string): Promise<WebhookEndpoint | null> {
  const { rows } = await db.query(
    `SELECT ${endpoint.columns()} FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 AND ${LIVE}`, [id, tenantId],
  );
  return rows[0] ? endpoint.map(rows[0]) : null;
}

/** Newest first; deleted endpoints are not listed. */
export async function listWebhookEndpoints(db: Db, tenantId: string, page: PageQuery): Promise<ListPage<WebhookEndpoint>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${endpoint.columns()} FROM webhook_endpoints
     WHERE tenant_id = $1 AND ${LIVE} AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [tenantId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, endpoint.map);
}

/** The ids of the tenant's enabled endpoints subscribed to `topic` (or to every event), in id order. */
export async function listSubscribedEndpointIds(db: Db, tenantId: string, topic: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM webhook_endpoints
     WHERE tenant_id = $1 AND status = 'enabled' AND ${LIVE} AND ($2 = ANY(events) OR '*' = ANY(events)) ORDER BY id`,
    [tenantId, topic],
  );
  return rows.map((row) => row.id);
}

/**
 * Replaces the endpoint's secret with a new one (returned, to be shown once). The replaced secret
 * keeps signing for `graceMs` (0: it stops at once); a secret still in an earlier grace is dropped,
 * so at most two sign. Null when the tenant has no such endpoint.
 */
export async function rotateWebhookSecret(
  db: Db,
  input: { tenantId: string; id: string; graceMs: number; sealer: Sealer },
): Promise<{ id: string; object: 'webhook_endpoint'; secret: string } | null> {
  const secret = newWebhookSecret();
  // A row from before sealing (its secret still in `secret`) cannot keep its old secret: it has
  // none sealed to keep. The worker seals those at start, so this is only a start-up race.
  const { rows } = await db.query<{ id: string }>(
    `UPDATE webhook_endpoints SET
       previous_secret_sealed = CASE WHEN $3::bigint > 0 THEN secret_sealed END,
       previous_secret_expires_at = CASE WHEN $3::bigint > 0 AND secret_sealed IS NOT NULL THEN now() + $3::bigint * interval '1 millisecond' END,
       secret_sealed = $4, secret = NULL
     WHERE id = $1 AND tenant_id = $2 AND ${LIVE}
     RETURNING id`,
    [input.id, input.tenantId, input.graceMs, input.sealer.seal(secret)],
  );
  return rows[0] ? { id: rows[0].id, object: 'webhook_endpoint', secret } : null;
}

/**
 * Deletes the endpoint: disabled, its secrets erased, its queued deliveries cancelled (one
 * transaction), nothing sent to it afterwards. Returns it as it was (null when there is none).
 */
export async function deleteWebhookEndpoint(db: Db, tenantId: string, id: string): Promise<WebhookEndpoint | null> {
  if (db instanceof pg.Pool) return withTransaction(db, (client) => deleteWebhookEndpoint(client, tenantId, id));
  const { rows } = await db.query(
    `UPDATE webhook_endpoints SET deleted_at = now(), status = 'disabled', secret_sealed = NULL, secret = NULL,
       previous_secret_sealed = NULL, previous_secret_expires_at = NULL
     WHERE id = $1 AND tenant_id = $2 AND ${LIVE}
     RETURNING ${endpoint.columns()}`,
    [id, tenantId],
  );
  if (!rows[0]) return null;
  await cancelQueuedEndpointDeliveries(db, id, 'webhook endpoint deleted');
  return endpoint.map(rows[0]);
}

/** What a delivery needs to send: where, and the sealed secrets that sign it (current first). */
export interface EndpointToSend {
  url: string;
  /** The current secret, then the previous one while its grace lasts (database clock). */
  sealedSecrets: string[];
}

/** The endpoint a delivery goes to; null when it is deleted or disabled (or not sealed yet). */
export async function findEndpointToSend(db: Db, tenantId: string, id: string): Promise<EndpointToSend | null> {
  const { rows: [row] } = await db.query<{ url: string; secret_sealed: string | null; previous: string | null }>(
    `SELECT url, secret_sealed, CASE WHEN previous_secret_expires_at > now() THEN previous_secret_sealed END AS previous
     FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 AND ${LIVE} AND status = 'enabled'`,
    [id, tenantId],
  );
  if (!row?.secret_sealed) return null;
  return { url: row.url, sealedSecrets: row.previous ? [row.secret_sealed, row.previous] : [row.secret_sealed] };
}

const SEAL_BATCH = 500;

/**
 * Seals the secrets written in clear before migration 0010 and erases the clear copies; returns
 * how many it sealed. Idempotent (only rows with a clear secret are touched), batched, and safe
 * with several processes at once (SKIP LOCKED). Run by the worker at start and by
 * `npm run ops -- seal-webhook-secrets`.
 */
export async function sealClearWebhookSecrets(pool: pg.Pool, sealer: Sealer): Promise<number> {
  let sealed = 0;
  for (;;) {
    const done = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ id: string; secret: string }>(
        `SELECT id, secret FROM webhook_endpoints WHERE secret IS NOT NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, [SEAL_BATCH],
      );
      for (const row of rows) {
        await client.query(
          `UPDATE webhook_endpoints SET secret_sealed = coalesce(secret_sealed, $2), secret = NULL WHERE id = $1`,
          [row.id, sealer.seal(row.secret)],
        );
      }
      return rows.length;
    });
    sealed += done;
    if (done < SEAL_BATCH) return sealed;
  }
}

/**
 * Re-seals live endpoint secrets (current and, during a rotation's grace, previous) sealed with an
 * older key, after a `SECRETS_ENCRYPTION_KEYS` rotation: `reseal` returns the secret sealed with the
 * current key, or null when it is current already. A row is replaced only if it did not change
 * meanwhile (a concurrent rotation or delete wins). Returns how many rows were re-sealed.
 */
export async function resealWebhookSecrets(
  db: Db, reseal: (sealed: string) => string | null, options: { tenantId?: string; batchSize?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  let count = 0;
  let after = '';
  for (;;) {
    const { rows } = await db.query<{ id: string; secret_sealed: string | null; previous_secret_sealed: string | null }>(
      `SELECT id, secret_sealed, previous_secret_sealed FROM webhook_endpoints
       WHERE ${LIVE} AND id > $1 AND secret_sealed IS NOT NULL AND ($3::text IS NULL OR tenant_id = $3) ORDER BY id LIMIT $2`,
      [after, batchSize, options.tenantId ?? null],
    );
    for (const row of rows) {
      const current = row.secret_sealed === null ? null : reseal(row.secret_sealed);
      const previous = row.previous_secret_sealed === null ? null : reseal(row.previous_secret_sealed);
      if (current === null && previous === null) continue;
      const { rowCount } = await db.query(
        `UPDATE webhook_endpoints SET secret_sealed = $4, previous_secret_sealed = $5
         WHERE id = $1 AND secret_sealed IS NOT DISTINCT FROM $2 AND previous_secret_sealed IS NOT DISTINCT FROM $3`,
        [row.id, row.secret_sealed, row.previous_secret_sealed, current ?? row.secret_sealed, previous ?? row.previous_secret_sealed],
      );
      count += rowCount ?? 0;
    }
    if (rows.length < batchSize) return count;
    after = rows[rows.length - 1]!.id;
  }
}
