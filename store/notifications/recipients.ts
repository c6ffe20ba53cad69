import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';

/**
 * Reads that find how to reach the user a notification goes to, across the tables that say so
 * (contacts, employees). Each is one query: planning runs under the notification's row lock, so it
 * stays short. What the user accepts (preferences) is read apart, through the cache
 * (activities/notifications/preferences.ts).
 */

/** Where planning sends a user's notification. */
export interface Recipient {
  email: string | null;
  phone: string | null;
  pushTokens: string[];
  /** The contact's BCP 47 locale (templates render in it, its language, or their default). */
  locale: string | null;
}

const recipient = rowMapper<Recipient>({
  email: col.textOrNull('email'),
  phone: col.textOrNull('phone'),
  pushTokens: col.json<string[]>('push_tokens'),
  locale: col.textOrNull('locale'),
});

/**
 * The user's contacts, in one query. An employee without a contacts row is reached at their HR
 * email, so leave notifications work without extra setup.
 */
export async function loadRecipient(db: Db, tenantId: string, userId: string): Promise<Recipient> {
  const { rows: [row] } = await db.query(
    `SELECT coalesce(c.email, e.email) AS email, c.phone, coalesce(c.push_tokens, '{}') AS push_tokens, c.locale
     FROM (SELECT $1::text AS tenant_id, $2::text AS user_id) u
     LEFT JOIN user_contacts c ON c.tenant_id = u.tenant_id AND c.user_id = u.user_id
     LEFT JOIN employees e ON e.tenant_id = u.tenant_id AND e.id = u.user_id`,
    [tenantId, userId],
  );
  return recipient.map(row);
}
