import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import type { DeliveryActivities } from '../../activities/notifications/delivery-activities.js';
import { ledgerActivity, localLedgerActivity, proxySteps, stepsAreLocal } from '../activity-options.js';
import { setBusinessStatus, TenantId } from '../search-attributes.js';
import { workflowContracts, workflowIdOf } from '../contract-table.js';
import { deliverWithRetries } from './deliver.js';
import { notification } from './notification.js';
import type { DomainEventInput } from './types.js';

/**
 * `event-<evt_id>`, started by the outbox relay: turns one domain event into the notifications of
 * the people it concerns (child runs `notification-<ntf_id>`, left running on their own) and the
 * deliveries to the merchant's webhook endpoints (retried here, over hours). Rows are created
 * idempotently by the event id, and the run id is the event id: each event is handled once.
 *
 * Since release 0.2.0 (`stepsAreLocal()`): the plan is a local activity, the children are started
 * together (one workflow task, not one per child), and `processing` is upserted only when the run
 * waits for webhook deliveries.
 */
export async function domainEvent(input: DomainEventInput): Promise<{ notifications: number; webhooks: number }> {
  const local = stepsAreLocal();
  const store = proxySteps<DeliveryActivities>(local, localLedgerActivity, ledgerActivity);
  if (!local) setBusinessStatus('processing');
  const plan = await store.planEvent({ tenantId: input.tenantId, eventId: input.eventId });
  const startOne = (planned: (typeof plan.notifications)[number]) => startChild(notification, {
    workflowId: workflowIdOf(workflowContracts.notification, planned.notificationId),
    taskQueue: input.notificationTaskQueue,
    parentClosePolicy: ParentClosePolicy.ABANDON,
    typedSearchAttributes: [{ key: TenantId, value: input.tenantId }],
    args: [{
      tenantId: input.tenantId, notificationId: planned.notificationId, priority: planned.priority,
      critical: false, scheduledAt: null, channels: planned.channels, retry: input.notificationRetry,
      deliveryQueuePrefix: input.deliveryQueuePrefix,
    }],
  });
  if (local) await Promise.all(plan.notifications.map(startOne));
  else for (const planned of plan.notifications) await startOne(planned);
  if (local && plan.webhookDeliveryIds.length > 0) setBusinessStatus('processing');
  const outcomes = await Promise.all(plan.webhookDeliveryIds.map((deliveryId) => deliverWithRetries({
    tenantId: input.tenantId, deliveryId, channel: 'webhook', priority: 'normal',
    retry: input.webhookRetry, queuePrefix: input.deliveryQueuePrefix, local,
  })));
  setBusinessStatus(outcomes.every((o) => o === 'sent') ? 'completed' : 'completed_with_failures');
  return { notifications: plan.notifications.length, webhooks: plan.webhookDeliveryIds.length };
}
