import { newId } from '../../domain/ids.js';
import { isUniqueViolation, type Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';

/** The `risk_blocklist` table: payee accounts and card tokens a tenant refuses money to or from. */

export type BlocklistType = 'account' | 'card_token';

export interface BlocklistEntry {
  id: string;
  type: BlocklistType;
  value: string;
  createdAt: Date;
}

const entryRow = rowMapper<BlocklistEntry>({
  id: col.text('id'),
  type: col.of<BlocklistType>('type'),
  value: col.text('value'),
  createdAt: col.timestamp('created_at'),
});

/** Adds an entry; null when the tenant lists that value already. */
export async function insertBlocklistEntry(db: Db, tenantId: string, type: BlocklistType, value: string): Promise<BlocklistEntry | null> {
  try {
    const { rows } = await db.query(
      `INSERT INTO risk_blocklist (id, tenant_id, type, value) VALUES ($1, $2, $3, $4) RETURNING ${entryRow.columns()}`,
      [newId('riskBlocklistEntry'), tenantId, type, value],
    );
    return entryRow.map(rows[0]);
  } catch (err) {
    if (isUniqueViolation(err, 'risk_blocklist_value')) return null;
    throw err;
  }
}

export async function listBlocklist(db: Db, tenantId: string, page: PageQuery): Promise<ListPage<BlocklistEntry>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${entryRow.columns()} FROM risk_blocklist WHERE tenant_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [tenantId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, entryRow.map);
}

/** Removes an entry; the removed entry, or null when the tenant has none with this id. */
export async function deleteBlocklistEntry(db: Db, tenantId: string, id: string): Promise<BlocklistEntry | null> {
  const { rows } = await db.query(
    `DELETE FROM risk_blocklist WHERE id = $1 AND tenant_id = $2 RETURNING ${entryRow.columns()}`,
    [id, tenantId],
  );
  return rows[0] ? entryRow.map(rows[0]) : null;
}
