import type { Channel, QuietHours } from '../../domain/notifications/types.js';
import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `notification_preferences` table: what a user accepts. A user without a row, or a channel
 * left null, reads as the default: every channel on, no quiet hours (schema/0005).
 * Inputs are validated by the API schemas (api/notifications/schemas.ts) before they get here.
 */

export interface Preferences {
  object: 'notification_preferences';
  user_id: string;
  email: boolean;
  sms: boolean;
  push: boolean;
  in_app: boolean;
  quiet_hours: QuietHours | null;
  /** E-mail digest window (`{email: "1h"}`, domain/notifications/digest.ts); null: every e-mail goes at once. */
  digest: DigestPreference | null;
  updated_at: string | null;
}

export interface DigestPreference {
  email: string;
}

/** Given fields replace the stored ones; a channel set to null goes back to the default (on). */
export type PreferencesPatch = Partial<Record<Channel, boolean | null>> & {
  quiet_hours?: QuietHours | null;
  digest?: DigestPreference | null;
};

/** Only an explicit `false` opts out (a missing row or a null channel means opted in). */
const optedIn = (channel: Channel) => col.custom(channel, (v) => (v as boolean | null | undefined) !== false);

/** Reads a missing row (`{ user_id }` only) as the defaults. */
const preferences = rowMapper<Preferences>({
  object: col.literal('notification_preferences'),
  user_id: col.text('user_id'),
  email: optedIn('email'),
  sms: optedIn('sms'),
  push: optedIn('push'),
  in_app: optedIn('in_app'),
  quiet_hours: col.ofOrNull<QuietHours>('quiet_hours'),
  digest: col.ofOrNull<DigestPreference>('digest'),
  updated_at: col.isoTimestampOrNull('updated_at'),
});

const PREFERENCE_COLUMNS = ['email', 'sms', 'push', 'in_app', 'quiet_hours', 'digest'] as const;

/** Partial update: only the fields present in `patch` change; `{}` changes nothing. */
export async function putPreferences(db: Db, tenantId: string, userId: string, patch: PreferencesPatch): Promise<Preferences> {
  const given = PREFERENCE_COLUMNS.filter((column) => patch[column] !== undefined);
  if (given.length === 0) return getPreferences(db, tenantId, userId);
  const values = given.map((column) => (column === 'quiet_hours' || column === 'digest' ? jsonOrNull(patch[column]) : patch[column]));
  // Column names come from the fixed list above, never from the request.
  const { rows } = await db.query(
    `INSERT INTO notification_preferences (tenant_id, user_id, ${given.join(', ')})
     VALUES ($1, $2, ${given.map((_, i) => `$${i + 3}`).join(', ')})
     ON CONFLICT (tenant_id, user_id) DO UPDATE
       SET ${given.map((column) => `${column} = EXCLUDED.${column}`).join(', ')}, updated_at = now()
     RETURNING ${preferences.columns()}`,
    [tenantId, userId, ...values],
  );
  return preferences.map(rows[0]);
}

function jsonOrNull(value: QuietHours | DigestPreference | null | undefined): string | null {
  return value ? JSON.stringify(value) : null;
}

export async function getPreferences(db: Db, tenantId: string, userId: string): Promise<Preferences> {
  const { rows } = await db.query(
    `SELECT ${preferences.columns()} FROM notification_preferences WHERE tenant_id = $1 AND user_id = $2`,
    [tenantId, userId],
  );
  return preferences.map(rows[0] ?? { user_id: userId });
}
