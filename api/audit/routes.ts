import { createRoute, z } from '@hono/zod-openapi';
import { listAuditEvents } from '../../store/audit/audit-events.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { commonErrors, jsonResponse, ListQuery, listOf } from '../schemas.js';

/** Read-only: no route changes or deletes an entry (and the database would refuse it). */

const AuditEventBody = z
  .object({
    id: z.string().openapi({ example: 'aud_01JD3W5X8Q2F6Y0V7K9M4N1B3C' }),
    object: z.literal('audit_event'),
    at: z.string(),
    actor: z.object({
      type: z.enum(['admin', 'api_key', 'user']),
      id: z.string().openapi({ description: '`admin`; the `key_…` id of the API key; or the acting user (`sub` of Steadfast-Actor).' }),
    }),
    action: z.string().openapi({ example: 'transfer.create', description: '`<resource>.<verb>`' }),
    resource_type: z.string().openapi({ example: 'transfer' }),
    resource_id: z.string().nullable().openapi({ description: 'Null when the request named no resource (a refused create).' }),
    request_id: z.string().nullable().openapi({ description: 'The `Request-Id` of the request.' }),
    status: z.number().int().openapi({ description: 'The HTTP status the request was answered with (refusals are recorded too).' }),
  })
  .openapi('AuditEvent');

const filterParam = (name: string, description: string) =>
  z.string().min(1).max(300).optional().openapi({ param: { name, in: 'query' }, description });

const AuditQuery = ListQuery.extend({
  action: filterParam('action', 'One action, e.g. `transfer.create`.'),
  resource_id: filterParam('resource_id', 'The history of one resource.'),
  actor_id: filterParam('actor_id', 'What one API key (`key_…`), user or `admin` did.'),
});
const OpsAuditQuery = AuditQuery.extend({ tenant_id: filterParam('tenant_id', 'One tenant’s entries (absent: every tenant’s).') });

const description = 'Every state-changing request that authenticated, newest first, with the status it was answered '
  + '(refusals included; idempotent replays are not recorded again). Entries are append-only.';

const tenantListRoute = createRoute({
  method: 'get', path: '/', tags: ['Audit'], summary: 'The tenant’s audit log', description,
  request: { query: AuditQuery },
  responses: { 200: jsonResponse('Audit events', listOf(AuditEventBody)), ...commonErrors },
});
const opsListRoute = createRoute({
  method: 'get', path: '/', tags: ['Ops'], summary: 'Every tenant’s audit log, and admin actions (admin key)', description,
  request: { query: OpsAuditQuery },
  responses: { 200: jsonResponse('Audit events', listOf(AuditEventBody)), ...commonErrors },
});

/**
 * Both lists read `readPool` (DATABASE_READ_URL, a standby) when there is one: append-only history,
 * scanned in large pages, and nothing decides on it. A standby has every acknowledged commit's WAL
 * flushed but may not have applied it yet, so an entry can show up a few milliseconds late; a
 * client never needs its own entry back to carry on.
 */

/** `/v1/audit-log` (tenant key): the tenant's own entries, admin actions on the tenant included. */
export function auditLogRoutes({ pool, readPool }: AppDeps) {
  const db = readPool ?? pool; // may lag the primary by milliseconds: see above
  return createRouter().openapi(tenantListRoute, async (c) => {
    const q = c.req.valid('query');
    const page = await listAuditEvents(
      db,
      { tenantId: tenantOf(c), action: q.action, resourceId: q.resource_id, actorId: q.actor_id },
      { limit: q.limit, startingAfter: q.starting_after },
    );
    return c.json(page, 200);
  });
}

/** `/v1/ops/audit-log` (admin key): every tenant's entries, filtered by `tenant_id` when given. */
export function opsAuditLogRoutes({ pool, readPool }: AppDeps) {
  const db = readPool ?? pool; // may lag the primary by milliseconds: see above
  return createRouter().openapi(opsListRoute, async (c) => {
    const q = c.req.valid('query');
    const page = await listAuditEvents(
      db,
      { tenantId: q.tenant_id, action: q.action, resourceId: q.resource_id, actorId: q.actor_id },
      { limit: q.limit, startingAfter: q.starting_after },
    );
    return c.json(page, 200);
  });
}
