import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { assertInTransaction, col, rowMapper } from '../rows.js';

/**
 * The `notification_digests` table (schema/0025): a user's e-mail digest. One `open` digest per
 * user collects held e-mails (deliveries `held` with its id) until its window ends; its workflow
 * (`digest-<dgst_id>`) then closes it (`sending`, its e-mail rendered into `content`) and sends it
 * once (`sent`), or ends it otherwise (`skipped`, `failed`). The row lock orders a hold against
 * the close: a hold that meets a closed digest opens the next one.
 */

export type DigestStatus = 'open' | 'sending' | 'sent' | 'skipped' | 'failed';

export interface Digest {
  id: string;
  tenantId: string;
  userId: string;
  windowStart: Date;
  windowEnd: Date;
  status: DigestStatus;
  messages: number;
  /** The rendered e-mail and its address, fixed when it closed (every retry sends these bytes). */
  content: { to: string; subject: string; html: string; text: string } | null;
  providerMessageId: string | null;
  lastError: string | null;
}

const digest = rowMapper<Digest>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  userId: col.text('user_id'),
  windowStart: col.timestamp('window_start'),
  windowEnd: col.timestamp('window_end'),
  status: col.of<DigestStatus>('status'),
  messages: col.int('messages'),
  content: col.ofOrNull<Digest['content']>('content'),
  providerMessageId: col.textOrNull('provider_message_id'),
  lastError: col.textOrNull('last_error'),
});

/**
 * The user's open e-mail digest, locked (FOR UPDATE), opening one that ends `windowMs` from now
 * when there is none (in the caller's transaction). A digest that closes while this waits for its
 * lock no longer matches: the next round opens a new one.
 */
export async function lockOpenDigest(
  client: pg.PoolClient,
  input: { tenantId: string; userId: string; windowMs: number },
): Promise<Digest> {
  assertInTransaction(client, 'lockOpenDigest');
  for (let round = 0; round < 3; round++) {
    await client.query(
      `INSERT INTO notification_digests (id, tenant_id, user_id, window_start, window_end)
       VALUES ($1, $2, $3, now(), now() + make_interval(secs => $4::double precision / 1000))
       ON CONFLICT (tenant_id, user_id, channel) WHERE status = 'open' DO NOTHING`,
      [newId('digest'), input.tenantId, input.userId, input.windowMs],
    );
    const { rows: [row] } = await client.query(
      `SELECT ${digest.columns()} FROM notification_digests
       WHERE tenant_id = $1 AND user_id = $2 AND channel = 'email' AND status = 'open' FOR UPDATE`,
      [input.tenantId, input.userId],
    );
    if (row) return digest.map(row);
  }
  // Each round either finds the open digest or inserts one; three closes in a row is not contention.
  throw new Error(`no open digest for ${input.userId} after three rounds`);
}

/** One more held e-mail in an open digest (its lock is held). */
export async function countHeldMessage(client: pg.PoolClient, digestId: string): Promise<void> {
  await client.query(`UPDATE notification_digests SET messages = messages + 1, updated_at = now() WHERE id = $1 AND status = 'open'`,
    [digestId]);
}

/** A tenant's digest, locked (FOR UPDATE) in the caller's transaction; null if none. */
export async function lockDigest(client: pg.PoolClient, tenantId: string, digestId: string): Promise<Digest | null> {
  assertInTransaction(client, 'lockDigest');
  const { rows: [row] } = await client.query(
    `SELECT ${digest.columns()} FROM notification_digests WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [digestId, tenantId]);
  return row ? digest.map(row) : null;
}

export async function getDigest(db: Db, tenantId: string, digestId: string): Promise<Digest | null> {
  const { rows: [row] } = await db.query(`SELECT ${digest.columns()} FROM notification_digests WHERE id = $1 AND tenant_id = $2`,
    [digestId, tenantId]);
  return row ? digest.map(row) : null;
}

/** Closes an open digest to new e-mails with what it will send (`sending`). */
export async function closeDigest(client: pg.PoolClient, digestId: string, content: NonNullable<Digest['content']>): Promise<void> {
  await client.query(`UPDATE notification_digests SET status = 'sending', content = $2, updated_at = now() WHERE id = $1 AND status = 'open'`,
    [digestId, content]);
}

/** Ends an open or sending digest: sent (with the provider's message id), skipped or failed. */
export async function endDigest(
  db: Db,
  digestId: string,
  end: { status: 'sent' | 'skipped' | 'failed'; providerMessageId?: string | null; error?: string | null },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE notification_digests SET status = $2, provider_message_id = $3, last_error = $4, updated_at = now(),
       sent_at = CASE WHEN $2 = 'sent' THEN now() END
     WHERE id = $1 AND status IN ('open', 'sending')`,
    [digestId, end.status, end.providerMessageId ?? null, end.error ?? null],
  );
  return rowCount === 1;
}

/** Records that the digest's workflow exists (the start reconciler looks at it no more). */
export async function markDigestRunSeen(db: Db, digestId: string): Promise<void> {
  await db.query('UPDATE notification_digests SET run_seen_at = now() WHERE id = $1 AND run_seen_at IS NULL', [digestId]);
}
