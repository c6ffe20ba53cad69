import { proxyActivities } from '@temporalio/workflow';
import type { DeliveryActivities } from '../../activities/notifications/delivery-activities.js';
import { ledgerActivity } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';
import { deliverWithRetries, type DeliveryOutcome } from './deliver.js';
import type { DeadLetterRetryInput } from './types.js';

const store = proxyActivities<DeliveryActivities>(ledgerActivity);

/**
 * `dead-letter-retry-<dlv_id>-<n>` (ops): one more round of attempts for a dead-lettered delivery,
 * with the same provider key, so a provider that did accept an earlier attempt does not send twice.
 */
export async function deadLetterRetry(input: DeadLetterRetryInput): Promise<{ status: DeliveryOutcome }> {
  setBusinessStatus('processing');
  const { attempts } = await store.deliveryAttempts({ tenantId: input.tenantId, deliveryId: input.deliveryId });
  const status = await deliverWithRetries({
    tenantId: input.tenantId, deliveryId: input.deliveryId, channel: input.channel, priority: input.priority,
    retry: input.retry, queuePrefix: input.deliveryQueuePrefix, firstAttempt: attempts + 1,
  });
  setBusinessStatus(status);
  return { status };
}
