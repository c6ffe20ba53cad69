import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { formatMinor } from '../../domain/money.js';
import type { Channel, Priority } from '../../domain/notifications/types.js';
import { createNotification } from './repository.js';
import { templateFor } from './plan-notification.js';
import { templateChannels } from './templates.js';

export interface EventPlan {
  notifications: { notificationId: string; priority: Priority; channels: Channel[] }[];
  webhookDeliveryIds: string[];
}

interface Outboxed {
  id: string;
  tenant_id: string;
  topic: string;
  payload: Record<string, unknown>;
  created_at: Date;
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
  const { rows: [event] } = await client.query<Outboxed>(
    'SELECT id, tenant_id, topic, payload, created_at FROM outbox WHERE id = $1 AND tenant_id = $2',
    [input.eventId, input.tenantId],
  );
  if (!event) throw new Error(`outbox event ${input.eventId} is missing`);
  const notifications: EventPlan['notifications'] = [];
  for (const recipient of await recipientsOf(client, event)) {
    const template = await templateFor(client, event.tenant_id, recipient.templateId);
    const channels = templateChannels(template);
    if (channels.length === 0) continue;
    const { notification } = await createNotification(client, {
      tenantId: event.tenant_id, userId: recipient.userId, templateId: recipient.templateId, data: templateData(event),
      channels, priority: recipient.priority, critical: false, scheduledAt: null,
      sourceKey: `${event.id}:${recipient.userId}:${recipient.templateId}`,
    });
    notifications.push({ notificationId: notification.id, priority: recipient.priority, channels });
  }
  return { notifications, webhookDeliveryIds: await planWebhooks(client, event) };
}

/** Who hears of an event, with which template. */
async function recipientsOf(client: pg.PoolClient, event: Outboxed): Promise<Recipient[]> {
  const p = event.payload;
  switch (event.topic) {
    case 'transfer.succeeded': {
      const { rows } = await client.query<{ id: string; owner_id: string | null }>(
        'SELECT id, owner_id FROM accounts WHERE id = ANY($1) AND tenant_id = $2',
        [[p.from_account_id, p.to_account_id], event.tenant_id],
      );
      const owner = (accountId: unknown) => rows.find((r) => r.id === accountId)?.owner_id ?? null;
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
    default:
      return [];
  }
}

/** Template data: the event payload, with amounts also as decimal strings in major units. */
function templateData(event: Outboxed): Record<string, unknown> {
  const { amount, currency } = event.payload;
  const display = typeof amount === 'number' && typeof currency === 'string' ? { amount: formatMinor(amount, currency) } : {};
  return { event_id: event.id, ...event.payload, amount_minor: amount, ...display };
}

/** One delivery per enabled endpoint subscribed to the topic; its body is fixed now (signed per attempt). */
async function planWebhooks(client: pg.PoolClient, event: Outboxed): Promise<string[]> {
  const body = JSON.stringify({
    id: event.id, object: 'event', type: event.topic, created: Math.floor(event.created_at.getTime() / 1000),
    data: { object: event.payload },
  });
  const { rows: endpoints } = await client.query<{ id: string }>(
    `SELECT id FROM webhook_endpoints
     WHERE tenant_id = $1 AND status = 'enabled' AND ($2 = ANY(events) OR '*' = ANY(events)) ORDER BY id`,
    [event.tenant_id, event.topic],
  );
  const ids: string[] = [];
  for (const endpoint of endpoints) {
    const { rows: [row] } = await client.query<{ id: string }>(
      `INSERT INTO deliveries (id, tenant_id, kind, channel, endpoint_id, event_id, status, content)
       VALUES ($1, $2, 'webhook', 'webhook', $3, $4, 'queued', $5)
       ON CONFLICT (endpoint_id, event_id) WHERE kind = 'webhook' DO UPDATE SET updated_at = deliveries.updated_at
       RETURNING id`,
      [newId('delivery'), event.tenant_id, endpoint.id, event.id, { body }],
    );
    ids.push(row!.id);
  }
  return ids;
}
