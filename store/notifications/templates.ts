import { DEFAULT_TEMPLATES } from '../../domain/notifications/default-templates.js';
import { NotificationError } from '../../domain/notifications/errors.js';
import type { TemplateChannels, TemplateLocales } from '../../domain/notifications/types.js';
import type { Db } from '../db.js';
import { isUniqueViolation } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { col, rowMapper } from '../rows.js';

/**
 * The `notification_templates` table: a tenant's own templates. A notification uses the tenant's
 * own, else the built-in DEFAULT_TEMPLATES entry with the same id (a tenant overrides a built-in
 * one by creating a template with its id).
 */

export interface Template {
  id: string;
  object: 'notification_template';
  /** `built_in`: from DEFAULT_TEMPLATES (never stored); `tenant`: created through the API. */
  source: 'tenant' | 'built_in';
  channels: TemplateChannels;
  /** Translations of some of `channels` by canonical BCP 47 tag (domain/notifications/locales.ts); `{}` for none. */
  locales: TemplateLocales;
  created_at: string | null;
  updated_at: string | null;
}

const template = rowMapper<Template>({
  id: col.text('id'),
  object: col.literal('notification_template'),
  source: col.literal('tenant'),
  channels: col.json<TemplateChannels>('channels'),
  locales: col.custom('locales', (v) => (v as TemplateLocales | null | undefined) ?? {}),
  created_at: col.isoTimestamp('created_at'),
  updated_at: col.isoTimestamp('updated_at'),
});

/** Creates a tenant template; an id the tenant already uses is `resource_exists` (update it instead). */
export async function createTemplate(
  db: Db, tenantId: string, id: string, channels: TemplateChannels, locales: TemplateLocales = {},
): Promise<Template> {
  try {
    const { rows } = await db.query(
      `INSERT INTO notification_templates (tenant_id, id, channels, locales) VALUES ($1, $2, $3, $4) RETURNING ${template.columns()}`,
      [tenantId, id, JSON.stringify(channels), JSON.stringify(locales)],
    );
    return template.map(rows[0]);
  } catch (err) {
    if (isUniqueViolation(err, 'notification_templates_pkey')) {
      throw new NotificationError('resource_exists', `A template with id ${id} already exists.`, 'id');
    }
    throw err;
  }
}

/** Replaces a tenant template's channels and locales; null when the tenant has no template with this id. */
export async function updateTemplate(
  db: Db, tenantId: string, id: string, channels: TemplateChannels, locales: TemplateLocales = {},
): Promise<Template | null> {
  const { rows } = await db.query(
    `UPDATE notification_templates SET channels = $3, locales = $4, updated_at = now() WHERE tenant_id = $1 AND id = $2
     RETURNING ${template.columns()}`,
    [tenantId, id, JSON.stringify(channels), JSON.stringify(locales)],
  );
  return rows[0] ? template.map(rows[0]) : null;
}

/** The tenant's own template (no built-in fallback); null when it has none with this id. */
export async function getTemplate(db: Db, tenantId: string, id: string): Promise<Template | null> {
  const { rows } = await db.query(`SELECT ${template.columns()} FROM notification_templates WHERE tenant_id = $1 AND id = $2`, [
    tenantId, id,
  ]);
  return rows[0] ? template.map(rows[0]) : null;
}

/** The template a notification uses: the tenant's own, else the built-in one, else null. */
export async function findTemplate(db: Db, tenantId: string, id: string): Promise<Template | null> {
  const own = await getTemplate(db, tenantId, id);
  if (own) return own;
  const builtIn = Object.hasOwn(DEFAULT_TEMPLATES, id) ? DEFAULT_TEMPLATES[id] : undefined;
  if (!builtIn) return null;
  return { id, object: 'notification_template', source: 'built_in', channels: builtIn, locales: {}, created_at: null, updated_at: null };
}

/** The tenant's own templates in id order (the tenant chooses the ids, so they do not sort by time). */
export async function listTemplates(db: Db, tenantId: string, page: PageQuery): Promise<ListPage<Template>> {
  checkPageLimit(page.limit);
  const { rows } = await db.query(
    `SELECT ${template.columns()} FROM notification_templates
     WHERE tenant_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
    [tenantId, page.startingAfter ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, template.map);
}
