import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `actor_signing_keys` table: the HS256 secrets a tenant signs `Steadfast-Actor` JWTs with.
 * The store only ever sees the secret sealed (the caller seals and opens it with the process's
 * SecretBox); deleting a key erases its sealed secret.
 */

export interface ActorSigningKey {
  id: string;
  object: 'actor_signing_key';
  created_at: string;
}

const signingKey = rowMapper<ActorSigningKey>({
  id: col.text('id'),
  object: col.literal('actor_signing_key'),
  created_at: col.isoTimestamp('created_at'),
});

export async function insertActorSigningKey(
  db: Db,
  input: { id: string; tenantId: string; secretSealed: string },
): Promise<ActorSigningKey> {
  const { rows } = await db.query(
    `INSERT INTO actor_signing_keys (id, tenant_id, secret_sealed) VALUES ($1, $2, $3) RETURNING ${signingKey.columns()}`,
    [input.id, input.tenantId, input.secretSealed],
  );
  return signingKey.map(rows[0]);
}

/** The tenant's keys that still verify, newest first. */
export async function listActorSigningKeys(db: Db, tenantId: string, page: PageQuery): Promise<ListPage<ActorSigningKey>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${signingKey.columns()} FROM actor_signing_keys
     WHERE tenant_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [tenantId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, signingKey.map);
}

/** Deletes a key (it stops verifying at once) and erases its secret; null when there is no such live key. */
export async function deleteActorSigningKey(db: Db, tenantId: string, id: string): Promise<(ActorSigningKey & { deleted: true }) | null> {
  const { rows } = await db.query(
    `UPDATE actor_signing_keys SET deleted_at = now(), secret_sealed = NULL
     WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL RETURNING ${signingKey.columns()}`,
    [id, tenantId],
  );
  return rows[0] ? { ...signingKey.map(rows[0]), deleted: true } : null;
}

/**
 * The sealed secret of the tenant's live key `id` (a JWT's `kid`), or null. Runs on every actor
 * check: one primary-key lookup, never cached.
 */
export async function findActorSigningSecret(db: Db, tenantId: string, id: string): Promise<string | null> {
  const { rows } = await db.query<{ secret_sealed: string }>(
    'SELECT secret_sealed FROM actor_signing_keys WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL',
    [id, tenantId],
  );
  return rows[0]?.secret_sealed ?? null;
}

/**
 * Re-seals live secrets sealed with an older key (a `SECRETS_ENCRYPTION_KEYS` rotation): `reseal`
 * returns the secret sealed with the current key, or null when it is current already. Each row is
 * replaced only if it did not change meanwhile (a concurrent delete wins). Returns how many were re-sealed.
 */
export async function resealActorSigningSecrets(
  db: Db, reseal: (sealed: string, keyId: string) => string | null, options: { tenantId?: string; batchSize?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  let count = 0;
  let after = '';
  for (;;) {
    const { rows } = await db.query<{ id: string; secret_sealed: string }>(
      `SELECT id, secret_sealed FROM actor_signing_keys
       WHERE deleted_at IS NULL AND id > $1 AND ($3::text IS NULL OR tenant_id = $3) ORDER BY id LIMIT $2`,
      [after, batchSize, options.tenantId ?? null],
    );
    for (const row of rows) {
      const next = reseal(row.secret_sealed, row.id);
      if (next === null) continue;
      const { rowCount } = await db.query(
        'UPDATE actor_signing_keys SET secret_sealed = $3 WHERE id = $1 AND secret_sealed = $2',
        [row.id, row.secret_sealed, next],
      );
      count += rowCount ?? 0;
    }
    if (rows.length < batchSize) return count;
    after = rows[rows.length - 1]!.id;
  }
}
