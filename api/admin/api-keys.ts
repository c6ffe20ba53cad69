import { randomBytes } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { newId } from '../../domain/ids.js';
import type { Db } from '../../store/db.js';
import { insertApiKey, listApiKeys, revokeApiKey, type ApiKey } from '../../store/security/api-keys.js';
import { tenantExists } from '../../store/tenants/tenants.js';
import { createRouter, type AppDeps } from '../context.js';
import { errors } from '../errors.js';
import { hashApiKey } from '../middleware/auth.js';
import { parseDurationMs } from '../ops/workflow-ops.js';
import { commonErrors, idempotencyHeader, jsonResponse, ListQuery, listOf } from '../schemas.js';

/** `sk_` + 24 random bytes (192 bits) of base64url: long enough that a fast hash (SHA-256) is safe to store. */
export function generateApiKey(): string {
  return `sk_${randomBytes(24).toString('base64url')}`;
}

/** Gives a tenant a new API key, stored as its digest; the key is returned (shown once) with its row. */
export async function issueApiKey(db: Db, tenantId: string): Promise<{ key: string; row: ApiKey }> {
  const key = generateApiKey();
  const row = await insertApiKey(db, { id: newId('apiKey'), tenantId, keyHash: hashApiKey(key), last4: key.slice(-4) });
  return { key, row };
}

/** The longest grace a revoked key keeps working (a rotation needs hours or days, not months). */
export const GRACE_MAX_MS = 30 * 86_400_000;

const ApiKeyBody = z
  .object({
    id: z.string().openapi({ example: 'key_01JD3M5Q9W1V8X7Y6Z5A4B3C2D' }),
    object: z.literal('api_key'),
    last4: z.string(),
    created_at: z.string(),
    expires_at: z.string().nullable().openapi({ description: 'When the key stops (or stopped) working; null: never.' }),
    revoked_at: z.string().nullable(),
    last_used_at: z.string().nullable().openapi({ description: 'Updated at most once a minute.' }),
  })
  .openapi('ApiKey');
const ApiKeyCreatedBody = z
  .object({
    id: z.string(),
    object: z.literal('api_key'),
    key: z.string().nullable().openapi({ description: 'Shown once; only its SHA-256 digest is stored (null in a replay).' }),
    last4: z.string(),
    created_at: z.string(),
  })
  .openapi('ApiKeyCreated');

const TenantParam = z.strictObject({ id: z.string().min(1).max(100).openapi({ param: { name: 'id', in: 'path' } }) });
const KeyParam = TenantParam.extend({ key_id: z.string().min(1).max(100).openapi({ param: { name: 'key_id', in: 'path' } }) });
const RevokeQuery = z.strictObject({
  grace: z.string().max(20).optional().openapi({
    param: { name: 'grace', in: 'query' }, example: '24h',
    description: 'How long the key keeps working: `<n>s`, `<n>m`, `<n>h` or `<n>d`, at most 30d. Absent: it stops at once.',
  }),
});

const tags = ['Admin'];
const routes = {
  create: createRoute({
    method: 'post', path: '/{id}/api-keys', tags, summary: 'Issue another API key for a tenant (admin key; the key is shown once)',
    request: { params: TenantParam, headers: idempotencyHeader },
    responses: { 201: jsonResponse('The key, shown only in this answer', ApiKeyCreatedBody), ...commonErrors },
  }),
  list: createRoute({
    method: 'get', path: '/{id}/api-keys', tags, summary: 'A tenant’s API keys, newest first (admin key; never the keys themselves)',
    request: { params: TenantParam, query: ListQuery },
    responses: { 200: jsonResponse('Keys', listOf(ApiKeyBody)), ...commonErrors },
  }),
  revoke: createRoute({
    method: 'delete', path: '/{id}/api-keys/{key_id}', tags,
    summary: 'Revoke an API key at once, or after a grace period (admin key)',
    description: 'The key answers `401 api_key_invalid` from `expires_at` on. Revoking again can only bring the end closer.',
    request: { params: KeyParam, query: RevokeQuery },
    responses: { 200: jsonResponse('The key', ApiKeyBody), ...commonErrors },
  }),
};

/** `/v1/admin/tenants/:id/api-keys` (admin key): issue, list and revoke a tenant's API keys. */
export function apiKeyRoutes({ pool }: AppDeps) {
  const requireTenant = async (tenantId: string) => {
    if (!(await tenantExists(pool, tenantId))) throw errors.resourceMissing('tenant', 'id');
  };
  return createRouter()
    .openapi(routes.create, async (c) => {
      const tenantId = c.req.valid('param').id;
      await requireTenant(tenantId);
      const { key, row } = await issueApiKey(pool, tenantId);
      return c.json({ id: row.id, object: row.object, key, last4: row.last4, created_at: row.created_at }, 201);
    })
    .openapi(routes.list, async (c) => {
      const tenantId = c.req.valid('param').id;
      await requireTenant(tenantId);
      const q = c.req.valid('query');
      return c.json(await listApiKeys(pool, tenantId, { limit: q.limit, startingAfter: q.starting_after }), 200);
    })
    .openapi(routes.revoke, async (c) => {
      const { id: tenantId, key_id: keyId } = c.req.valid('param');
      const grace = c.req.valid('query').grace;
      const graceMs = grace === undefined ? 0 : parseDurationMs(grace);
      if (graceMs === null || graceMs > GRACE_MAX_MS) {
        throw errors.parameterInvalid('grace', 'grace must be a duration like 90s, 15m, 24h or 7d, at most 30d.');
      }
      const key = await revokeApiKey(pool, tenantId, keyId, graceMs);
      if (!key) throw errors.resourceMissing('api_key', 'key_id');
      return c.json(key, 200);
    });
}
