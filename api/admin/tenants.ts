import { createRoute, z } from '@hono/zod-openapi';
import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { withTransaction } from '../../store/db.js';
import { insertTenant } from '../../store/tenants/tenants.js';
import { createRouter, type AppDeps } from '../context.js';
import { commonErrors, idempotencyHeader, jsonBody, jsonResponse } from '../schemas.js';
import { issueApiKey } from './api-keys.js';

/** Creates a tenant and its first API key (one transaction); only the key's digest is stored. */
export async function createTenant(pool: pg.Pool, name: string, id = newId('tenant')) {
  return withTransaction(pool, async (client) => {
    const tenant = await insertTenant(client, { id, name });
    const { key, row } = await issueApiKey(client, tenant.id);
    return { ...tenant, apiKey: key, apiKeyId: row.id };
  });
}

const CreateTenant = z.strictObject({ name: z.string().trim().min(1).max(200) }).openapi('CreateTenant');
const TenantBody = z
  .object({
    id: z.string(),
    object: z.literal('tenant'),
    name: z.string(),
    api_key: z.string().nullable().openapi({ description: 'Shown once; only its digest is stored (null in a replay).' }),
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
