import type { Channel, QuietHours } from '../../domain/notifications/types.js';
import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';

/**
 * Reads that find who a notification goes to and how to reach them, across the tables that say so
 * (preferences, contacts, employees, accounts). Each is one query: planning runs under the
 * notification's row lock, so it stays short.
 */

/** What planning needs to know of a user. */
export interface Recipient {
  /** Per channel: false = opted out; null (or no row) = opted in. */
  preferences: Partial<Record<Channel, boolean | null>>;
  quietHours: QuietHours | null;
  email: string | null;
  phone: string | null;
  pushTokens: string[];
}

const recipient = rowMapper<Recipient>({
  preferences: col.combined(['pref_email', 'pref_sms', 'pref_push', 'pref_in_app'], (row) => ({
    email: row.pref_email as boolean | null, sms: row.pref_sms as boolean | null,
    push: row.pref_push as boolean | null, in_app: row.pref_in_app as boolean | null,
  })),
  quietHours: col.ofOrNull<QuietHours>('quiet_hours'),
  email: col.textOrNull('email'),
  phone: col.textOrNull('phone'),
  pushTokens: col.json<string[]>('push_tokens'),
});

/**
 * Preferences (a missing row or null = opted in) and contacts, in one query. An employee without
 * a contacts row is reached at their HR email, so leave notifications work without extra setup.
 */
export async function loadRecipient(db: Db, tenantId: string, userId: string): Promise<Recipient> {
  const { rows: [row] } = await db.query(
    `SELECT p.email AS pref_email, p.sms AS pref_sms, p.push AS pref_push, p.in_app AS pref_in_app, p.quiet_hours,
            coalesce(c.email, e.email) AS email, c.phone, coalesce(c.push_tokens, '{}') AS push_tokens
     FROM (SELECT $1::text AS tenant_id, $2::text AS user_id) u
     LEFT JOIN notification_preferences p ON p.tenant_id = u.tenant_id AND p.user_id = u.user_id
     LEFT JOIN user_contacts c ON c.tenant_id = u.tenant_id AND c.user_id = u.user_id
     LEFT JOIN employees e ON e.tenant_id = u.tenant_id AND e.id = u.user_id`,
    [tenantId, userId],
  );
  return recipient.map(row);
}
