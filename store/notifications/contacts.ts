import type { Db } from '../db.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `user_contacts` table: where a user is reached. `user_id` is the tenant's own id for a
 * person, not a resource of ours: a user without a row reads as empty contacts, never as missing.
 * Inputs are validated by the API schemas (api/notifications/schemas.ts) before they get here.
 */

export const PUSH_TOKENS_MAX = 20;

export interface Contacts {
  object: 'user_contacts';
  user_id: string;
  email: string | null;
  phone: string | null;
  push_tokens: string[];
  /** A canonical BCP 47 tag (`fr-CA`): templates render in it, else its language, else their default. */
  locale: string | null;
  updated_at: string | null;
}

export interface ContactsInput {
  email?: string | null | undefined;
  phone?: string | null | undefined;
  push_tokens?: string[] | undefined;
  locale?: string | null | undefined;
}

/** Reads a missing row (`{ user_id }` only) as empty contacts. */
const contacts = rowMapper<Contacts>({
  object: col.literal('user_contacts'),
  user_id: col.text('user_id'),
  email: col.textOrNull('email'),
  phone: col.textOrNull('phone'),
  push_tokens: col.custom('push_tokens', (v) => (v as string[] | null | undefined) ?? []),
  locale: col.textOrNull('locale'),
  updated_at: col.isoTimestampOrNull('updated_at'),
});

/** PUT semantics: the contacts become exactly `input` (an omitted field is cleared). */
export async function putContacts(db: Db, tenantId: string, userId: string, input: ContactsInput): Promise<Contacts> {
  const tokens = input.push_tokens ?? [];
  if (tokens.length > PUSH_TOKENS_MAX || new Set(tokens).size !== tokens.length) {
    throw new Error(`push_tokens must be at most ${PUSH_TOKENS_MAX} unique tokens (validated by the API)`);
  }
  const { rows } = await db.query(
    `INSERT INTO user_contacts (tenant_id, user_id, email, phone, push_tokens, locale) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant_id, user_id) DO UPDATE
       SET email = EXCLUDED.email, phone = EXCLUDED.phone, push_tokens = EXCLUDED.push_tokens, locale = EXCLUDED.locale, updated_at = now()
     RETURNING ${contacts.columns()}`,
    [tenantId, userId, input.email ?? null, input.phone ?? null, tokens, input.locale ?? null],
  );
  return contacts.map(rows[0]);
}

export async function getContacts(db: Db, tenantId: string, userId: string): Promise<Contacts> {
  const { rows } = await db.query(`SELECT ${contacts.columns()} FROM user_contacts WHERE tenant_id = $1 AND user_id = $2`, [
    tenantId, userId,
  ]);
  return contacts.map(rows[0] ?? { user_id: userId });
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

/**
 * Removes push tokens the provider reported gone from whichever of the tenant's users hold them
 * (a broadcast page's, in one statement; only the rows holding one are touched).
 */
export async function removeGonePushTokens(db: Db, tenantId: string, tokens: string[]): Promise<void> {
  if (tokens.length === 0) return;
  await db.query(
    `UPDATE user_contacts SET push_tokens = ARRAY(SELECT t FROM unnest(push_tokens) AS t WHERE NOT (t = ANY ($2::text[]))),
       updated_at = now()
     WHERE tenant_id = $1 AND push_tokens && $2::text[]`,
    [tenantId, tokens],
  );
}
