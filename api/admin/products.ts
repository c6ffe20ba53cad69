import { createRoute, z } from '@hono/zod-openapi';
import { errors } from '../errors.js';
import { AMOUNT_MAX } from '../../domain/money.js';
import { createRouter } from '../context.js';
import { withTransaction } from '../../store/db.js';
import { updateProduct } from '../../store/reference/products.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { PRODUCT_ID, ProductBody, type ProductReads } from '../reference/products.js';
import { commonErrors, Currency, IdParam, jsonBody, jsonResponse } from '../schemas.js';

const TERMS_MAX = 50;

/** One term: a label, a decimal string (rates, percentages), a whole number, a flag, or money in minor units. No floats. */
const TermValue = z.union([
  z.string().max(200),
  z.number().int().min(-AMOUNT_MAX).max(AMOUNT_MAX),
  z.boolean(),
  z.strictObject({ amount: z.number().int().min(0).max(AMOUNT_MAX), currency: Currency }),
]);

const UpdateProduct = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(2_000).optional(),
    terms: z
      .record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), TermValue)
      .refine((t) => Object.keys(t).length <= TERMS_MAX, { message: `At most ${TERMS_MAX} terms.` })
      .optional()
      .openapi({ description: 'Replaces the terms whole.' }),
    active: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'Give at least one of name, description, terms, active.' })
  .openapi('UpdateProduct');

const updateProductRoute = createRoute({
  method: 'put', path: '/{id}', tags: ['Admin'],
  summary: 'Update a product (admin key); its cached copies are invalidated on every API instance',
  request: { params: IdParam, body: jsonBody(UpdateProduct) },
  responses: { 200: jsonResponse('The product, version bumped', ProductBody), ...commonErrors },
});

/**
 * `/v1/admin/products`: changes the global catalogue. The row is committed first, then the
 * product and the list are invalidated (L2 and, over the bus, every instance's L1). If the
 * invalidation fails the request answers 500 and may simply be repeated: the update is idempotent
 * apart from `version`.
 */
export function adminProductRoutes(deps: ProductReads) {
  return createRouter().openapi(updateProductRoute, async (c) => {
    const id = c.req.valid('param').id;
    const changes = c.req.valid('json');
    // The audit event commits with the change (a refusal is recorded by the audit middleware).
    const product = PRODUCT_ID.test(id)
      ? await withTransaction(deps.pool, async (client) => {
        const updated = await updateProduct(client, id, changes);
        if (updated) await recordAuditInTransaction(client, c, { resourceId: id, status: 200 });
        return updated;
      })
      : null;
    if (!product) throw errors.resourceMissing('product', 'id');
    await deps.cache.invalidate({ kind: 'product', id }, { kind: 'product_list' });
    return c.json(product, 200);
  });
}
