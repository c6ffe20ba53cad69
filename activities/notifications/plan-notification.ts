import type pg from 'pg';
import { quietHoursEnd } from '../../domain/notifications/quiet-hours.js';
import { renderContent, TemplateError } from '../../domain/notifications/render.js';
import type { Channel, DeliveryStatus, QuietHours, TemplateChannels } from '../../domain/notifications/types.js';
import { findTemplate } from './templates.js';

export interface PlannedDelivery {
  deliveryId: string;
  channel: Channel;
}

export interface NotificationPlan {
  /** The deliveries to attempt (queued, content rendered); the others were skipped. */
  deliveries: PlannedDelivery[];
  /** ISO time the user's quiet hours end, when a non-critical notification must wait. */
  deferUntil: string | null;
}

interface Recipient {
  preferences: Partial<Record<Channel, boolean | null>>;
  quietHours: QuietHours | null;
  email: string | null;
  phone: string | null;
  pushTokens: string[];
}

/**
 * Resolves a notification against the user's preferences and contacts, under its row lock:
 * each queued delivery is skipped (`skipped_opt_out` unless critical, `skipped_no_contact`) or gets
 * its content rendered and its address fixed, so every attempt sends the same thing to the same
 * place. Planning twice (a retried activity) changes nothing.
 */
export async function planNotification(
  client: pg.PoolClient,
  input: { tenantId: string; notificationId: string; critical: boolean; now: Date },
): Promise<NotificationPlan> {
  const { rows: [notification] } = await client.query(
    `SELECT user_id, template_id, data FROM notifications WHERE id = $1 AND tenant_id = $2 FOR UPDATE`,
    [input.notificationId, input.tenantId],
  );
  if (!notification) throw new Error(`notification ${input.notificationId} is missing`);
  const recipient = await loadRecipient(client, input.tenantId, notification.user_id as string);
  const template = await templateFor(client, input.tenantId, notification.template_id as string);
  const { rows: deliveries } = await client.query(
    `SELECT id, channel, status, content FROM deliveries WHERE notification_id = $1 ORDER BY id`,
    [input.notificationId],
  );
  const planned: PlannedDelivery[] = [];
  for (const delivery of deliveries) {
    const channel = delivery.channel as Channel;
    if (delivery.status !== 'queued') continue;
    if (delivery.content === null) {
      const decision = decide(channel, recipient, input.critical);
      if (decision !== 'deliver') {
        await setDeliveryStatus(client, delivery.id as string, decision, null);
        continue;
      }
      let rendered;
      try {
        rendered = renderContent(template, channel, notification.data as Record<string, unknown>);
      } catch (err) {
        // The template was changed under a queued notification, or an event's data does not fit it.
        if (!(err instanceof TemplateError)) throw err;
        await setDeliveryStatus(client, delivery.id as string, 'failed', `template: ${err.message}`);
        continue;
      }
      const content = { ...rendered, to: addressOf(channel, recipient) };
      await client.query('UPDATE deliveries SET content = $2, updated_at = now() WHERE id = $1', [delivery.id, content]);
    }
    planned.push({ deliveryId: delivery.id as string, channel });
  }
  const end = input.critical || !recipient.quietHours ? null : quietHoursEnd(input.now, recipient.quietHours);
  const deferUntil = planned.length > 0 && end ? end.toISOString() : null;
  await client.query(`UPDATE notifications SET status = $2, updated_at = now() WHERE id = $1 AND status <> 'cancelled'`,
    [input.notificationId, deferUntil ? 'deferred' : 'processing']);
  return { deliveries: planned, deferUntil };
}

function decide(channel: Channel, recipient: Recipient, critical: boolean): 'deliver' | DeliveryStatus {
  if (!critical && recipient.preferences[channel] === false) return 'skipped_opt_out';
  if (channel !== 'in_app' && addressOf(channel, recipient) === null) return 'skipped_no_contact';
  return 'deliver';
}

function addressOf(channel: Channel, recipient: Recipient): string | string[] | null {
  switch (channel) {
    case 'email': return recipient.email;
    case 'sms': return recipient.phone;
    case 'push': return recipient.pushTokens.length > 0 ? recipient.pushTokens : null;
    case 'in_app': return null;
    default: {
      const unknown: never = channel;
      throw new Error(`unknown channel ${String(unknown)}`);
    }
  }
}

/**
 * Preferences (a missing row or null = opted in) and contacts. An employee without a contacts row
 * is reached at their HR email, so leave notifications work without extra setup.
 */
async function loadRecipient(client: pg.PoolClient, tenantId: string, userId: string): Promise<Recipient> {
  const { rows: [row] } = await client.query(
    `SELECT p.email AS pref_email, p.sms AS pref_sms, p.push AS pref_push, p.in_app AS pref_in_app, p.quiet_hours,
            coalesce(c.email, e.email) AS email, c.phone, coalesce(c.push_tokens, '{}') AS push_tokens
     FROM (SELECT $1::text AS tenant_id, $2::text AS user_id) u
     LEFT JOIN notification_preferences p ON p.tenant_id = u.tenant_id AND p.user_id = u.user_id
     LEFT JOIN user_contacts c ON c.tenant_id = u.tenant_id AND c.user_id = u.user_id
     LEFT JOIN employees e ON e.tenant_id = u.tenant_id AND e.id = u.user_id`,
    [tenantId, userId],
  );
  return {
    preferences: { email: row.pref_email, sms: row.pref_sms, push: row.pref_push, in_app: row.pref_in_app },
    quietHours: (row.quiet_hours as QuietHours | null) ?? null,
    email: row.email as string | null,
    phone: row.phone as string | null,
    pushTokens: row.push_tokens as string[],
  };
}

/** The tenant's template with this id, else the built-in one of that id. */
export async function templateFor(db: pg.PoolClient | pg.Pool, tenantId: string, templateId: string): Promise<TemplateChannels> {
  const template = await findTemplate(db, tenantId, templateId);
  if (!template) throw new Error(`template ${templateId} is missing`);
  return template.channels;
}

export async function setDeliveryStatus(
  db: pg.PoolClient | pg.Pool, deliveryId: string, status: DeliveryStatus, lastError: string | null,
): Promise<void> {
  await db.query('UPDATE deliveries SET status = $2, last_error = coalesce($3, last_error), updated_at = now() WHERE id = $1',
    [deliveryId, status, lastError]);
}
