import type pg from 'pg';
import { quietHoursEnd } from '../../domain/notifications/quiet-hours.js';
import { renderForLocale } from '../../domain/notifications/locales.js';
import { TemplateError } from '../../domain/notifications/render.js';
import type { Channel, DeliveryStatus, LocalizedTemplate, TemplateChannels } from '../../domain/notifications/types.js';
import type { Cache } from '../../platform/cache/index.js';
import type { Db } from '../../store/db.js';
import { listDeliveriesToPlan, setDeliveryContent, setDeliveryStatus } from '../../store/notifications/deliveries.js';
import { lockNotificationToPlan, setNotificationStatus } from '../../store/notifications/notifications.js';
import { loadRecipient, type Recipient } from '../../store/notifications/recipients.js';
import { ADDRESS_BOUNCED, dropBouncedContacts } from './bounces.js';
import type { Preferences } from '../../store/notifications/preferences.js';
import { findTemplate } from '../../store/notifications/templates.js';
import { optedOut, readPreferences } from './preferences.js';

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

/**
 * Resolves a notification against the user's preferences and contacts, under its row lock:
 * each queued delivery is skipped (`skipped_opt_out` unless critical, `skipped_no_contact`, also for an
 * address a provider reported bounced: activities/notifications/bounces.ts) or gets
 * its content rendered and its address fixed, so every attempt sends the same thing to the same
 * place. Planning twice (a retried activity) changes nothing. Preferences come through `cache`
 * (activities/notifications/preferences.ts); a critical notification does not read them at all
 * (it ignores opt-outs and quiet hours).
 */
export async function planNotification(
  client: pg.PoolClient,
  input: { tenantId: string; notificationId: string; critical: boolean; now: Date; cache?: Cache | undefined },
): Promise<NotificationPlan> {
  const notification = await lockNotificationToPlan(client, input.tenantId, input.notificationId);
  if (!notification) throw new Error(`notification ${input.notificationId} is missing`);
  const preferences = input.critical ? null : await readPreferences({ db: client, cache: input.cache }, input.tenantId, notification.userId);
  const { recipient, bounced } = await dropBouncedContacts(client, input.tenantId, await loadRecipient(client, input.tenantId, notification.userId));
  const template = await localizedTemplateFor(client, input.tenantId, notification.templateId);
  const deliveries = await listDeliveriesToPlan(client, input.notificationId);
  const planned: PlannedDelivery[] = [];
  for (const delivery of deliveries) {
    const { channel } = delivery;
    if (delivery.status !== 'queued') continue;
    if (delivery.content === null) {
      const decision = decide(channel, recipient, preferences);
      if (decision !== 'deliver') {
        await setDeliveryStatus(client, delivery.id, decision, decision === 'skipped_no_contact' && bounced.has(channel) ? ADDRESS_BOUNCED : null);
        continue;
      }
      let rendered;
      try {
        // In the contact's locale, else its language, else the template's default (per channel).
        rendered = renderForLocale(template, channel, notification.data, recipient.locale);
      } catch (err) {
        // The template was changed under a queued notification, or an event's data does not fit it.
        if (!(err instanceof TemplateError)) throw err;
        await setDeliveryStatus(client, delivery.id, 'failed', `template: ${err.message}`);
        continue;
      }
      await setDeliveryContent(client, delivery.id, { ...rendered, to: addressOf(channel, recipient) });
    }
    planned.push({ deliveryId: delivery.id, channel });
  }
  const end = preferences?.quiet_hours ? quietHoursEnd(input.now, preferences.quiet_hours) : null;
  const deferUntil = planned.length > 0 && end ? end.toISOString() : null;
  await setNotificationStatus(client, {
    tenantId: input.tenantId, notificationId: input.notificationId, status: deferUntil ? 'deferred' : 'processing',
  });
  return { deliveries: planned, deferUntil };
}

/** `preferences` null: a critical notification, which ignores opt-outs. */
function decide(channel: Channel, recipient: Recipient, preferences: Preferences | null): 'deliver' | DeliveryStatus {
  if (preferences && optedOut(preferences, channel)) return 'skipped_opt_out';
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

/** The tenant's template with this id, else the built-in one of that id. */
export async function templateFor(db: Db, tenantId: string, templateId: string): Promise<TemplateChannels> {
  return (await localizedTemplateFor(db, tenantId, templateId)).channels;
}

/** The same with its locale variants (render with `renderForLocale`, domain/notifications/locales.ts). */
export async function localizedTemplateFor(db: Db, tenantId: string, templateId: string): Promise<LocalizedTemplate> {
  const template = await findTemplate(db, tenantId, templateId);
  if (!template) throw new Error(`template ${templateId} is missing`);
  return { channels: template.channels, locales: template.locales };
}
