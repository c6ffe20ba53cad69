import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `audit_events` table (contract §1): append-only, one row per state-changing request. The
 * database refuses UPDATE, DELETE and TRUNCATE (schema/0009_audit_log.sql); this module only
 * inserts and reads.
 */

export type AuditActorType = 'admin' | 'api_key' | 'user';

/** An entry as the API shows it. */
export interface AuditEvent {
  id: string;
  object: 'audit_event';
  at: string;
  actor: { type: AuditActorType; id: string };
  action: string;
  resource_type: string;
  resource_id: string | null;
  request_id: string | null;
  status: number;
}

export interface NewAuditEvent {
  /** Made when absent (the in-transaction path makes it first, to find the row again). */
  id?: string;
  /** Null for admin actions that belong to no tenant. */
  tenantId: string | null;
  actor: { type: AuditActorType; id: string };
  action: string;
  resourceType: string;
  resourceId: string | null;
  requestId: string | null;
  status: number;
}

export interface AuditFilter {
  /** A tenant's own log; absent: every tenant's (ops). */
  tenantId?: string | undefined;
  action?: string | undefined;
  resourceId?: string | undefined;
  actorId?: string | undefined;
}

const auditEvent = rowMapper<AuditEvent>({
  id: col.text('id'),
  object: col.literal('audit_event'),
  at: col.isoTimestamp('at'),
  actor: col.combined(['actor_type', 'actor_id'], (row) => ({ type: row.actor_type as AuditActorType, id: row.actor_id as string })),
  action: col.text('action'),
  resource_type: col.text('resource_type'),
  resource_id: col.textOrNull('resource_id'),
  request_id: col.textOrNull('request_id'),
  status: col.int('status'),
});

/**
 * Appends one entry; pass the caller's transaction client to commit it with the change it records.
 * A `tenantId` naming no tenant (an admin request about a wrong one) is recorded as none.
 */
export async function insertAuditEvent(db: Db, e: NewAuditEvent): Promise<string> {
  const id = e.id ?? newId('auditEvent');
  await db.query(
    `INSERT INTO audit_events (id, tenant_id, actor_type, actor_id, action, resource_type, resource_id, request_id, status)
     VALUES ($1, (SELECT id FROM tenants WHERE id = $2), $3, $4, $5, $6, $7, $8, $9)`,
    [id, e.tenantId, e.actor.type, e.actor.id, e.action, e.resourceType, e.resourceId, e.requestId, e.status],
  );
  return id;
}

/** Whether an entry committed (the in-transaction path checks this when the request failed afterwards). */
export async function auditEventExists(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM audit_events WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

/**
 * Newest first. Only the filters given become conditions, so each query can use its index
 * (schema/0009_audit_log.sql) rather than a plan for every combination at once.
 */
export async function listAuditEvents(db: Db, filter: AuditFilter, page: PageQuery): Promise<ListPage<AuditEvent>> {
  checkPageLimit(page.limit);
  const values: unknown[] = [];
  const where: string[] = [];
  const condition = (sql: string, value: unknown) => {
    values.push(value);
    where.push(sql.replace('?', `$${values.length}`));
  };
  if (filter.tenantId !== undefined) condition('tenant_id = ?', filter.tenantId);
  if (filter.action !== undefined) condition('action = ?', filter.action);
  if (filter.resourceId !== undefined) condition('resource_id = ?', filter.resourceId);
  if (filter.actorId !== undefined) condition('actor_id = ?', filter.actorId);
  if (page.startingAfter !== undefined) condition('id < ?', page.startingAfter);
  values.push(page.limit + 1);
  const { rows } = await db.query(
    `SELECT ${auditEvent.columns()} FROM audit_events
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id DESC LIMIT $${values.length}`,
    values,
  );
  return toPage(rows, page.limit, auditEvent.map);
}
