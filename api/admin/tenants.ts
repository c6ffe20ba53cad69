import { randomBytes } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { insertTenant, setTenantApiKey } from '../../store/tenants/tenants.js';
import { hashApiKey } from '../middleware/auth.js';
import { createRouter, type AppDeps } from '../context.js';
import { commonErrors, idempotencyHeader, jsonBody, jsonResponse } from '../schemas.js';

export function generateApiKey(): string {
  return `sk_${randomBytes(24).toString('base64url')}`;
}

/** Creates a tenant and returns its API key; only the key's digest is stored. */
export async function createTenant(pool: pg.Pool, name: string, id = newId('tenant')) {
  const apiKey = generateApiKey();
  const tenant = await insertTenant(pool, { id, name, apiKeyHash: hashApiKey(apiKey), apiKeyLast4: apiKey.slice(-4) });
  return { ...tenant, apiKey };
}

/** Gives an existing tenant a new API key (the old one stops working at once). */
export async function rotateTenantKey(pool: pg.Pool, tenantId: string): Promise<string> {
  const apiKey = generateApiKey();
  await setTenantApiKey(pool, tenantId, hashApiKey(apiKey), apiKey.slice(-4));
  return apiKey;
}

const CreateTenant = z.strictObject({ name: z.string().trim().min(1).max(200) }).openapi('CreateTenant');
const TenantBody = z
  .object({
    id: z.string(),
    object: z.literal('tenant'),
    name: z.string(),
    api_key: z.string().openapi({ description: 'Shown once; only its digest is stored.' }),
    created_at: z.string(),
  })
  .openapi('Tenant');

const createTenantRoute = createRoute({
  method: 'post', path: '/', tags: ['Admin'], summary: 'Create a tenant and its API key (admin key)',
  request: { body: jsonBody(CreateTenant), headers: idempotencyHeader },
  responses: { 201: jsonResponse('The tenant, with its API key shown once', TenantBody), ...commonErrors },
});

export function tenantRoutes({ pool }: AppDeps) {
  return createRouter().openapi(createTenantRoute, async (c) => {
    const tenant = await createTenant(pool, c.req.valid('json').name);
    return c.json({
      id: tenant.id, object: 'tenant' as const, name: tenant.name, api_key: tenant.apiKey,
      created_at: tenant.createdAt.toISOString(),
    }, 201);
  });
}
