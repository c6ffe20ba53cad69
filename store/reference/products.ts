import type pg from 'pg';
import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';

/** The `products` table (contract §6 reference data). */

/** A product as the API shows it: plain JSON (dates as ISO strings), so the cache can hold it as is. */
export interface Product {
  id: string;
  object: 'product';
  type: 'card' | 'loan';
  name: string;
  description: string;
  terms: Record<string, unknown>;
  active: boolean;
  version: number;
  updated_at: string;
}

export interface ProductFilter {
  type?: 'card' | 'loan';
  active?: boolean;
}

const product = rowMapper<Product>({
  id: col.text('id'),
  object: col.literal('product'),
  type: col.of<Product['type']>('type'),
  name: col.text('name'),
  description: col.text('description'),
  terms: col.json<Record<string, unknown>>('terms'),
  active: col.bool('active'),
  version: col.int('version'),
  updated_at: col.isoTimestamp('updated_at'),
});

export async function findProduct(db: pg.Pool, id: string): Promise<Product | null> {
  const { rows } = await db.query(`SELECT ${product.columns()} FROM products WHERE id = $1`, [id]);
  return rows[0] ? product.map(rows[0]) : null;
}

/** The first `max` products by id, and whether that is all of them. */
export async function loadCatalogue(db: pg.Pool, max: number): Promise<{ products: Product[]; complete: boolean }> {
  const { rows } = await db.query(`SELECT ${product.columns()} FROM products ORDER BY id COLLATE "C" LIMIT $1`, [max + 1]);
  return { products: rows.slice(0, max).map(product.map), complete: rows.length <= max };
}

/** One page by id, straight from PostgreSQL (used only when the catalogue outgrows the cached copy). */
export async function listProductsPage(
  db: pg.Pool,
  filter: ProductFilter,
  page: { limit: number; startingAfter?: string },
): Promise<{ data: Product[]; hasMore: boolean }> {
  const { rows } = await db.query(
    `SELECT ${product.columns()} FROM products
      WHERE ($1::text IS NULL OR type = $1) AND ($2::boolean IS NULL OR active = $2) AND ($3::text IS NULL OR id COLLATE "C" > $3)
      ORDER BY id COLLATE "C" LIMIT $4`,
    [filter.type ?? null, filter.active ?? null, page.startingAfter ?? null, page.limit + 1],
  );
  return { data: rows.slice(0, page.limit).map(product.map), hasMore: rows.length > page.limit };
}

export interface ProductChanges {
  name?: string;
  description?: string;
  terms?: Record<string, unknown>;
  active?: boolean;
}

/** Applies the given fields (terms are replaced whole) and bumps the version; null if no such product. */
export async function updateProduct(db: Db, id: string, changes: ProductChanges): Promise<Product | null> {
  const { rows } = await db.query(
    `UPDATE products
        SET name = coalesce($2, name), description = coalesce($3, description), terms = coalesce($4::jsonb, terms),
            active = coalesce($5, active), version = version + 1, updated_at = now()
      WHERE id = $1
      RETURNING ${product.columns()}`,
    [id, changes.name ?? null, changes.description ?? null, changes.terms ? JSON.stringify(changes.terms) : null, changes.active ?? null],
  );
  return rows[0] ? product.map(rows[0]) : null;
}
