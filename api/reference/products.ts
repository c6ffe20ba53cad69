import { createRoute, z } from '@hono/zod-openapi';
import type pg from 'pg';
import { errors } from '../errors.js';
import type { Cache } from '../../platform/cache/index.js';
import { createRouter } from '../context.js';
import { commonErrors, IdParam, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { findProduct, listProductsPage, loadCatalogue, type Product, type ProductFilter } from '../../store/reference/products.js';

/** The cached catalogue holds at most this many products; beyond it, pages are read from PostgreSQL. */
export const CATALOGUE_MAX = 1_000;
/** Product ids (schema/0006_products.sql): anything else cannot exist, so it never reaches the cache or the database. */
export const PRODUCT_ID = /^prod_[a-z0-9_]{1,60}$/;

export const ProductBody = z
  .object({
    id: z.string().openapi({ example: 'prod_card_classic' }),
    object: z.literal('product'),
    type: z.enum(['card', 'loan']),
    name: z.string(),
    description: z.string(),
    terms: z.record(z.string(), z.unknown()).openapi({
      description: 'Money as `{amount, currency}` in minor units; rates and percentages as decimal strings.',
      example: { annual_fee: { amount: 0, currency: 'USD' }, fx_fee_percent: '1.5' },
    }),
    active: z.boolean(),
    version: z.number().int().openapi({ description: 'Bumped by every update.' }),
    updated_at: z.string(),
  })
  .openapi('Product');

const ListProductsQuery = z.strictObject({
  ...ListQuery.shape,
  type: z.enum(['card', 'loan']).optional().openapi({ param: { name: 'type', in: 'query' } }),
  active: z.enum(['true', 'false']).optional().openapi({ param: { name: 'active', in: 'query' } }),
});

const listProductsRoute = createRoute({
  method: 'get', path: '/', tags: ['Reference data'], summary: 'Card and loan products (global, cached), by id',
  request: { query: ListProductsQuery },
  responses: { 200: jsonResponse('A page of products', listOf(ProductBody)), ...commonErrors },
});
const getProductRoute = createRoute({
  method: 'get', path: '/{id}', tags: ['Reference data'], summary: 'One product (cached; invalidated on update)',
  request: { params: IdParam },
  responses: { 200: jsonResponse('The product', ProductBody), ...commonErrors },
});

export interface ProductReads {
  pool: pg.Pool;
  cache: Cache;
}

/** A product through the cache, else 404 `resource_missing`. */
export async function requireProduct({ pool, cache }: ProductReads, id: string): Promise<Product> {
  const product = PRODUCT_ID.test(id) ? await cache.get({ kind: 'product', id }, () => findProduct(pool, id)) : null;
  if (!product) throw errors.resourceMissing('product', 'id');
  return product;
}

async function productsPage({ pool, cache }: ProductReads, filter: ProductFilter, page: { limit: number; startingAfter?: string }) {
  const catalogue = (await cache.get({ kind: 'product_list' }, () => loadCatalogue(pool, CATALOGUE_MAX)))!;
  if (!catalogue.complete) return listProductsPage(pool, filter, page);
  const matching = catalogue.products.filter((p) =>
    (filter.type === undefined || p.type === filter.type) &&
    (filter.active === undefined || p.active === filter.active) &&
    (page.startingAfter === undefined || p.id > page.startingAfter));
  return { data: matching.slice(0, page.limit), hasMore: matching.length > page.limit };
}

/** `/v1/products`: the global card and loan catalogue (tenant key). Reads go through the cache. */
export function productRoutes(deps: ProductReads) {
  return createRouter()
    .openapi(listProductsRoute, async (c) => {
      const q = c.req.valid('query');
      const filter = { type: q.type, active: q.active === undefined ? undefined : q.active === 'true' };
      const page = await productsPage(deps, filter, { limit: q.limit, startingAfter: q.starting_after });
      return c.json({ object: 'list' as const, data: page.data, has_more: page.hasMore }, 200);
    })
    .openapi(getProductRoute, async (c) => c.json(await requireProduct(deps, c.req.valid('param').id), 200));
}
