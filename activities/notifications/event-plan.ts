import type pg from 'pg';
import { formatMinor } from '../../domain/money.js';
import { templateChannels, type Channel, type Priority } from '../../domain/notifications/types.js';
import { insertWebhookDelivery } from '../../store/notifications/deliveries.js';
import { createNotification } from '../../store/notifications/notifications.js';
import { accountOwners } from '../../store/ledger/accounts.js';
import { listSubscribedEndpointIds } from '../../store/notifications/webhook-endpoints.js';
import { getOutboxEvent, type StoredOutboxEvent } from '../../store/outbox/outbox.js';
import { templateFor } from './plan-notification.js';

export interface EventPlan {
  notifications: { notificationId: string; priority: Priority; channels: Channel[] }[];
  webhookDeliveryIds: string[];
}

interface Recipient {
  userId: string;
  templateId: string;
  priority: Priority;
}

/**
 * Turns one outbox event into notification rows for the people it concerns and webhook deliveries
 * for the tenant's endpoints subscribed to it. Keyed by the event id (notifications by
 * `source_key`, webhook deliveries by (endpoint, event)): planning twice creates nothing twice.
 */
export async function planEvent(client: pg.PoolClient, input: { tenantId: string; eventId: string }): Promise<EventPlan> {
  const event = await getOutboxEvent(client, input.tenantId, input.eventId);
  if (!event) throw new Error(`outbox event ${input.eventId} is missing`);
  const notifications: EventPlan['notifications'] = [];
  for (const recipient of await recipientsOf(client, event)) {
    const template = await templateFor(client, event.tenantId, recipient.templateId);
    const channels = templateChannels(template);
    if (channels.length === 0) continue;
    const { notification } = await createNotification(client, {
      tenantId: event.tenantId, userId: recipient.userId, templateId: recipient.templateId, data: templateData(event),
      channels, priority: recipient.priority, critical: false, scheduledAt: null,
      sourceKey: `${event.id}:${recipient.userId}:${recipient.templateId}`,
    });
    notifications.push({ notificationId: notification.id, priority: recipient.priority, channels });
  }
  return { notifications, webhookDeliveryIds: await planWebhooks(client, event) };
}

/** Who hears of an event, with which template. */
async function recipientsOf(client: pg.PoolClient, event: StoredOutboxEvent): Promise<Recipient[]> {
  const p = event.payload;
  switch (event.topic) {
    case 'transfer.succeeded': {
      const owners = await accountOwners(client, event.tenantId, [p.from_account_id, p.to_account_id]);
      const owner = (accountId: unknown) => owners.get(accountId as string) ?? null;
      const from = owner(p.from_account_id);
      const to = owner(p.to_account_id);
      return [
        ...(from ? [{ userId: from, templateId: 'transfer.sent', priority: 'high' as const }] : []),
        ...(to ? [{ userId: to, templateId: 'transfer.received', priority: 'high' as const }] : []),
      ];
    }
    case 'leave.requested':
      return p.approver_id ? [{ userId: String(p.approver_id), templateId: 'leave.requested', priority: 'normal' }] : [];
    case 'leave.decided':
      // The employee hears of a decision; the approver hears of the employee's own cancel.
      if (p.decision === 'cancelled') {
        return p.approver_id ? [{ userId: String(p.approver_id), templateId: 'leave.decided', priority: 'normal' }] : [];
      }
      return [{ userId: String(p.employee_id), templateId: 'leave.decided', priority: 'normal' }];
    // Performance reviews (issue #21): one event per person to remind or to hand escalated reviews to.
    case 'review.reminder':
    case 'review.escalated':
      return [{ userId: String(p.recipient_id), templateId: event.topic, priority: 'normal' }];
    case 'payroll.paid':
      return [{ userId: String(p.employee_id), templateId: 'payroll.paid', priority: 'normal' }];
    // Recruitment (issue #21): the candidate is a user by their candidate id (contacts: the e-mail they applied with).
    case 'interview.reminder':
      return [{ userId: String(p.interviewer_id), templateId: 'interview.reminder', priority: 'high' }];
    case 'offer.approval_requested':
      return p.approver_id ? [{ userId: String(p.approver_id), templateId: 'offer.approval_requested', priority: 'normal' }] : [];
    case 'offer.extended':
      return [{ userId: String(p.candidate_id), templateId: 'offer.extended', priority: 'high' }];
    case 'offer.decided':
      return [{ userId: String(p.hiring_manager_id), templateId: 'offer.decided', priority: 'normal' }];
    default:
      return [];
  }
}

/** Template data: the event payload, with amounts also as decimal strings in major units. */
function templateData(event: StoredOutboxEvent): Record<string, unknown> {
  const { amount, currency } = event.payload;
  const display = typeof amount === 'number' && typeof currency === 'string' ? { amount: formatMinor(amount, currency) } : {};
  return { event_id: event.id, ...event.payload, amount_minor: amount, ...display };
}

/** One delivery per enabled endpoint subscribed to the topic; its body is fixed now (signed per attempt). */
async function planWebhooks(client: pg.PoolClient, event: StoredOutboxEvent): Promise<string[]> {
  const body = JSON.stringify({
    id: event.id, object: 'event', type: event.topic, created: Math.floor(event.createdAt.getTime() / 1000),
    data: { object: event.payload },
  });
  const ids: string[] = [];
  for (const endpointId of await listSubscribedEndpointIds(client, event.tenantId, event.topic)) {
    ids.push(await insertWebhookDelivery(client, { tenantId: event.tenantId, endpointId, eventId: event.id, body }));
  }
  return ids;
}
