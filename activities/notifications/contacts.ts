import type { Channel, QuietHours } from '../../domain/notifications/types.js';
import type { Db } from '../../platform/db.js';
import { isoOrNull } from './rows.js';

/**
 * Where a user is reached (contacts) and what they accept (preferences). `user_id` is the
 * tenant's own id for a person, not a resource of ours: a user without a row reads as empty
 * contacts and default preferences (every channel on, no quiet hours), never as missing.
 * Inputs are validated by the API schemas (api/notifications/schemas.ts) before they get here.
 */

export const PUSH_TOKENS_MAX = 20;

export interface Contacts {
  object: 'user_contacts';
  user_id: string;
  email: string | null;
  phone: string | null;
  push_tokens: string[];
  updated_at: string | null;
}

export interface Preferences {
  object: 'notification_preferences';
  user_id: string;
  email: boolean;
  sms: boolean;
  push: boolean;
  in_app: boolean;
  quiet_hours: QuietHours | null;
  updated_at: string | null;
}

export interface ContactsInput {
  email?: string | null | undefined;
  phone?: string | null | undefined;
  push_tokens?: string[] | undefined;
}

/** Given fields replace the stored ones; a channel set to null goes back to the default (on). */
export type PreferencesPatch = Partial<Record<Channel, boolean | null>> & { quiet_hours?: QuietHours | null };

function toContacts(userId: string, row: Record<string, unknown> | undefined): Contacts {
  return {
    object: 'user_contacts', user_id: userId, email: (row?.email as string | null) ?? null, phone: (row?.phone as string | null) ?? null,
    push_tokens: (row?.push_tokens as string[] | undefined) ?? [], updated_at: isoOrNull(row?.updated_at),
  };
}

function toPreferences(userId: string, row: Record<string, unknown> | undefined): Preferences {
  // A missing row or a null channel means opted in (schema/0005).
  const on = (channel: Channel) => (row?.[channel] as boolean | null | undefined) !== false;
  return {
    object: 'notification_preferences', user_id: userId, email: on('email'), sms: on('sms'), push: on('push'), in_app: on('in_app'),
    quiet_hours: (row?.quiet_hours as QuietHours | null | undefined) ?? null, updated_at: isoOrNull(row?.updated_at),
  };
}

/** PUT semantics: the contacts become exactly `input` (an omitted field is cleared). */
export async function putContacts(db: Db, tenantId: string, userId: string, input: ContactsInput): Promise<Contacts> {
  const tokens = input.push_tokens ?? [];
  if (tokens.length > PUSH_TOKENS_MAX || new Set(tokens).size !== tokens.length) {
    throw new Error(`push_tokens must be at most ${PUSH_TOKENS_MAX} unique tokens (validated by the API)`);
  }
  const { rows } = await db.query(
    `INSERT INTO user_contacts (tenant_id, user_id, email, phone, push_tokens) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, user_id) DO UPDATE
       SET email = EXCLUDED.email, phone = EXCLUDED.phone, push_tokens = EXCLUDED.push_tokens, updated_at = now()
     RETURNING email, phone, push_tokens, updated_at`,
    [tenantId, userId, input.email ?? null, input.phone ?? null, tokens],
  );
  return toContacts(userId, rows[0]);
}

export async function getContacts(db: Db, tenantId: string, userId: string): Promise<Contacts> {
  const { rows } = await db.query(
    'SELECT email, phone, push_tokens, updated_at FROM user_contacts WHERE tenant_id = $1 AND user_id = $2',
    [tenantId, userId],
  );
  return toContacts(userId, rows[0]);
}

/** Removes push tokens the provider reported as invalid (so later sends skip them). */
export async function removePushTokens(db: Db, tenantId: string, userId: string, tokens: string[]): Promise<void> {
  if (tokens.length === 0) return;
  await db.query(
    `UPDATE user_contacts SET push_tokens = ARRAY(SELECT t FROM unnest(push_tokens) AS t WHERE NOT (t = ANY ($3::text[]))),
       updated_at = now()
     WHERE tenant_id = $1 AND user_id = $2`,
    [tenantId, userId, tokens],
  );
}

const PREFERENCE_COLUMNS = ['email', 'sms', 'push', 'in_app', 'quiet_hours'] as const;

/** Partial update: only the fields present in `patch` change; `{}` changes nothing. */
export async function putPreferences(db: Db, tenantId: string, userId: string, patch: PreferencesPatch): Promise<Preferences> {
  const given = PREFERENCE_COLUMNS.filter((column) => patch[column] !== undefined);
  if (given.length === 0) return getPreferences(db, tenantId, userId);
  const values = given.map((column) => (column === 'quiet_hours' ? jsonOrNull(patch.quiet_hours) : patch[column]));
  // Column names come from the fixed list above, never from the request.
  const { rows } = await db.query(
    `INSERT INTO notification_preferences (tenant_id, user_id, ${given.join(', ')})
     VALUES ($1, $2, ${given.map((_, i) => `$${i + 3}`).join(', ')})
     ON CONFLICT (tenant_id, user_id) DO UPDATE
       SET ${given.map((column) => `${column} = EXCLUDED.${column}`).join(', ')}, updated_at = now()
     RETURNING email, sms, push, in_app, quiet_hours, updated_at`,
    [tenantId, userId, ...values],
  );
  return toPreferences(userId, rows[0]);
}

function jsonOrNull(value: QuietHours | null | undefined): string | null {
  return value ? JSON.stringify(value) : null;
}

export async function getPreferences(db: Db, tenantId: string, userId: string): Promise<Preferences> {
  const { rows } = await db.query(
    'SELECT email, sms, push, in_app, quiet_hours, updated_at FROM notification_preferences WHERE tenant_id = $1 AND user_id = $2',
    [tenantId, userId],
  );
  return toPreferences(userId, rows[0]);
}
