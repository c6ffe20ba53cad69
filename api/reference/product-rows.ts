import type pg from 'pg';

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

const COLUMNS = 'id, type, name, description, terms, active, version, updated_at';

function toProduct(row: Record<string, unknown>): Product {
  return {
    id: row.id as string,
    object: 'product',
    type: row.type as Product['type'],
    name: row.name as string,
    description: row.description as string,
    terms: row.terms as Record<string, unknown>,
    active: row.active as boolean,
    version: row.version as number,
    updated_at: (row.updated_at as Date).toISOString(),
  };
}

export async function findProduct(db: pg.Pool, id: string): Promise<Product | null> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM products WHERE id = $1`, [id]);
  return rows[0] ? toProduct(rows[0]) : null;
}

/** The first `max` products by id, and whether that is all of them. */
export async function loadCatalogue(db: pg.Pool, max: number): Promise<{ products: Product[]; complete: boolean }> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM products ORDER BY id COLLATE "C" LIMIT $1`, [max + 1]);
  return { products: rows.slice(0, max).map(toProduct), complete: rows.length <= max };
}

/** One page by id, straight from PostgreSQL (used only when the catalogue outgrows the cached copy). */
export async function listProductsPage(
  db: pg.Pool,
  filter: ProductFilter,
  page: { limit: number; startingAfter?: string },
): Promise<{ data: Product[]; hasMore: boolean }> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM products
      WHERE ($1::text IS NULL OR type = $1) AND ($2::boolean IS NULL OR active = $2) AND ($3::text IS NULL OR id COLLATE "C" > $3)
      ORDER BY id COLLATE "C" LIMIT $4`,
    [filter.type ?? null, filter.active ?? null, page.startingAfter ?? null, page.limit + 1],
  );
  return { data: rows.slice(0, page.limit).map(toProduct), hasMore: rows.length > page.limit };
}

export interface ProductChanges {
  name?: string;
  description?: string;
  terms?: Record<string, unknown>;
  active?: boolean;
}

/** Applies the given fields (terms are replaced whole) and bumps the version; null if no such product. */
export async function updateProduct(db: pg.Pool, id: string, changes: ProductChanges): Promise<Product | null> {
  const { rows } = await db.query(
    `UPDATE products
        SET name = coalesce($2, name), description = coalesce($3, description), terms = coalesce($4::jsonb, terms),
            active = coalesce($5, active), version = version + 1, updated_at = now()
      WHERE id = $1
      RETURNING ${COLUMNS}`,
    [id, changes.name ?? null, changes.description ?? null, changes.terms ? JSON.stringify(changes.terms) : null, changes.active ?? null],
  );
  return rows[0] ? toProduct(rows[0]) : null;
}
