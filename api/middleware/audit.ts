import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type pg from 'pg';
import { containsCardNumber } from '../../domain/card-data.js';
import { newId } from '../../domain/ids.js';
import { metrics } from '../../platform/metrics.js';
import { auditEventExists, insertAuditEvent, type NewAuditEvent } from '../../store/audit/audit-events.js';
import { assertInTransaction, pgErrorOf } from '../../store/rows.js';
import { auditedRoute, STATE_CHANGING_METHODS, type AuditedRoute } from '../audit/actions.js';
import type { AppEnv } from '../context.js';
import { requestLog } from './access-log.js';

// Any handler's context (whatever its path and input types) is an AppEnv context.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyContext = Context<AppEnv, any, any>;

/** Requests whose event a handler wrote in its own transaction: the id and the status it recorded. */
const recordedInTransaction = new WeakMap<AnyContext, { id: string; status: number }>();

const ID_LENGTH_MAX = 300;

/**
 * An id taken from the request (a path parameter, `Request-Id`) or the answer, if we may keep it:
 * a refused request's path may hold anything, and a card number is never stored, not even as an id.
 */
function safeId(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > ID_LENGTH_MAX) return null;
  return containsCardNumber(value) ? null : value;
}

/** The state-changing route the request matched, with its pattern (`/v1/payments/:id/capture`). */
function matchedRoute(c: AnyContext): { pattern: string; route: AuditedRoute } | null {
  const match = matchedRoutes(c).find((r) => r.method === c.req.method && !r.path.endsWith('*'));
  if (!match) return null; // no such route: a 404 changed nothing
  const pattern = match.path.length > 1 ? match.path.replace(/\/$/, '') : match.path;
  const route = auditedRoute(c.req.method, pattern);
  if (!route) {
    // The OpenAPI walk test keeps the table complete; a route outside OpenAPI would land here.
    requestLog(c).error({ component: 'audit', method: c.req.method, route: pattern }, 'no audit action for this route: add it to api/audit/actions.ts');
    return null;
  }
  return { pattern, route };
}

/** A path parameter read against the pattern (a middleware may have answered before the handler's params were parsed). */
function pathParam(c: AnyContext, pattern: string, name: string): string | null {
  const names = pattern.split('/');
  const values = c.req.path.split('/');
  const at = names.findIndex((segment) => segment.replace(/\{.*\}$/, '') === `:${name}`);
  if (at < 0 || values[at] === undefined) return null;
  try {
    return decodeURIComponent(values[at]);
  } catch {
    return null;
  }
}

/**
 * The request's id: ours (a random UUID, whose digit groups may even pass for a card number) as
 * it is; one the client chose in `Request-Id` is client text, kept only if `safeId` allows it.
 */
function requestIdOf(c: AnyContext): string | null {
  const id = c.get('requestId');
  return c.req.header('request-id') === id ? safeId(id) : id;
}

function actorOf(c: AnyContext): NewAuditEvent['actor'] {
  const auth = c.get('auth');
  if (auth.kind === 'admin') return { type: 'admin', id: 'admin' };
  const actor = c.get('actor');
  if (actor) return { type: 'user', id: actor.sub.slice(0, 200) };
  return { type: 'api_key', id: auth.apiKeyId };
}

function eventOf(c: AnyContext, matched: { pattern: string; route: AuditedRoute }, status: number, resourceId: string | null): NewAuditEvent {
  const { pattern, route } = matched;
  const auth = c.get('auth');
  let tenantId: string | null = null;
  if (auth.kind === 'tenant') tenantId = auth.tenantId;
  else if (route.tenantParam) tenantId = safeId(pathParam(c, pattern, route.tenantParam));
  else if (route.resourceType === 'tenant') tenantId = resourceId;
  else tenantId = c.get('auditTenantId') ?? null;
  return {
    tenantId, actor: actorOf(c), action: route.action, resourceType: route.resourceType, resourceId,
    requestId: requestIdOf(c), status,
  };
}

/** The resource a request acted on: its path parameter, or (a create that succeeded) the id in the answer. */
async function resourceIdOf(c: AnyContext, matched: { pattern: string; route: AuditedRoute }): Promise<string | null> {
  const source = matched.route.resourceId;
  if ('param' in source) return safeId(pathParam(c, matched.pattern, source.param));
  const res = c.res;
  if (res.status < 200 || res.status >= 300 || !res.headers.get('content-type')?.startsWith('application/json')) return null;
  const body = (await res.clone().json().catch(() => null)) as Record<string, unknown> | null;
  return safeId(body?.[source.response]);
}

/**
 * Records every state-changing request that authenticated (contract §1 audit log), after the
 * handler, with the status it was answered: successes and refusals (4xx, 5xx) alike. Mount it
 * after `authenticate` (an unauthenticated request is nobody's action) and the per-key rate
 * limit (a 429 flood must not become a flood of writes), before `jsonBody` and `idempotency`
 * (so malformed bodies and idempotency refusals are recorded too).
 *
 * Not recorded: an idempotent replay (`Idempotent-Replayed: true`), which changes nothing and
 * whose first answer already has its entry; a path no route matched (404).
 *
 * A handler whose change is one transaction records its event in it (`recordAuditInTransaction`),
 * and this middleware then writes nothing more. Otherwise the entry is written here, after the
 * change committed: if that write fails, the answer stands, the failure is logged and counted
 * (`steadfast_audit_write_failures_total`).
 *
 * @example app.use('/v1/*', auditLog({ pool }))
 */
export function auditLog(deps: { pool: pg.Pool }): MiddlewareHandler<AppEnv> {
  return async function recordAuditEvent(c, next) {
    if (!STATE_CHANGING_METHODS.has(c.req.method)) return next();
    await next();
    if (c.res.headers.get('idempotent-replayed') === 'true') return;
    const matched = matchedRoute(c);
    if (!matched) return;
    const status = c.res.status;
    try {
      const inTransaction = recordedInTransaction.get(c);
      // The handler's event committed with its change, unless the request failed afterwards and
      // the transaction rolled back: then this request's one entry is the refusal, written here.
      if (inTransaction && (inTransaction.status === status || (await auditEventExists(deps.pool, inTransaction.id)))) return;
      await insertAuditEvent(deps.pool, eventOf(c, matched, status, await resourceIdOf(c, matched)));
    } catch (err) {
      metrics.auditWriteFailures.inc({ action: matched.route.action });
      const { code, constraint } = pgErrorOf(err);
      // The request id (bound to the request's logger) lets ops find the request in the access log and reconstruct the entry.
      requestLog(c).error({ component: 'audit', action: matched.route.action, status, code: code ?? (err as Error).name, constraint }, 'audit event not recorded');
    }
  };
}

/**
 * Writes this request's audit event inside the handler's transaction, so it commits (or rolls
 * back) with the change; the `auditLog` middleware then does not write it again. `status` is the
 * status the handler is about to answer.
 *
 * @example
 * const product = await withTransaction(pool, async (client) => {
 *   const updated = await updateProduct(client, id, changes);
 *   if (updated) await recordAuditInTransaction(client, c, { resourceId: id, status: 200 });
 *   return updated;
 * });
 */
export async function recordAuditInTransaction(
  client: pg.PoolClient,
  c: AnyContext,
  outcome: { resourceId: string | null; status: number },
): Promise<void> {
  assertInTransaction(client, 'recordAuditInTransaction');
  const matched = matchedRoute(c);
  if (!matched) throw new Error(`recordAuditInTransaction: ${c.req.method} ${c.req.path} has no audit action`);
  const id = newId('auditEvent');
  await insertAuditEvent(client, { ...eventOf(c, matched, outcome.status, safeId(outcome.resourceId)), id });
  recordedInTransaction.set(c, { id, status: outcome.status });
}
