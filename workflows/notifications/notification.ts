import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { DeliveryActivities } from '../../activities/notifications/delivery-activities.js';
import { ledgerActivity, localLedgerActivity, proxySteps, stepsAreLocal } from '../activity-options.js';
import { setBusinessStatus } from '../search-attributes.js';
import { deliverWithRetries } from './deliver.js';
import { cancelNotificationUpdate, type NotificationInput, type NotificationResult } from './types.js';

/**
 * One notification: wait for `scheduled_at` (cancellable), resolve preferences and contacts
 * (opted-out and contact-less channels are skipped; `critical` bypasses preferences and quiet
 * hours), wait for the user's quiet hours to end (cancellable), then deliver every channel in
 * parallel with retries; the ones that run out of attempts are dead-lettered.
 *
 * Since release 0.2.0 (issue #14, `stepsAreLocal()`): the control steps (plan, status) and the
 * in-app attempts — a PostgreSQL insert, not a provider — are local activities of this worker,
 * and `BusinessStatus` is upserted only for a state the run waits in (scheduled, deferred,
 * processing while a provider delivers) and the final one: an in-app notification due now is one
 * workflow task and one upsert. Email, SMS, push stay on their channel's queue for their priority.
 * Runs of 0.1.0 replay their regular activities and every upsert they recorded.
 */
export async function notification(input: NotificationInput): Promise<NotificationResult> {
  const local = stepsAreLocal();
  const store = proxySteps<DeliveryActivities>(local, localLedgerActivity, ledgerActivity);
  // A cancel stays a regular activity: rare, and while it retries it is listed as pending, and the
  // run is between workflow tasks, so a second cancel meets the validator and is refused at once.
  const cancelStep = proxyActivities<DeliveryActivities>(ledgerActivity);
  const base = { tenantId: input.tenantId, notificationId: input.notificationId };
  let started = false;
  let cancelRequested = false;
  let cancelled = false;

  setHandler(cancelNotificationUpdate, async () => {
    cancelRequested = true;
    await condition(() => cancelled);
    return { status: 'cancelled' as const };
  }, {
    validator: () => {
      if (started || cancelRequested) {
        throw ApplicationFailure.create({
          type: 'notification_invalid_state', nonRetryable: true,
          message: 'Only a scheduled or deferred notification can be cancelled.',
        });
      }
    },
  });

  /** Sleeps until `at` unless cancelled first; true when it was cancelled (and recorded). */
  async function waitUntil(at: string | null): Promise<boolean> {
    const ms = at === null ? 0 : Date.parse(at) - Date.now();
    if (ms > 0) await condition(() => cancelRequested, ms);
    if (!cancelRequested) return false;
    await cancelStep.cancelNotification(base);
    setBusinessStatus('cancelled');
    cancelled = true;
    return true;
  }

  // 0.1.0 upserted every state; 0.2.0 only the ones the run waits in (a sleep, a provider).
  const waitsFor = (at: string | null) => at !== null && Date.parse(at) > Date.now();
  if (!local) setBusinessStatus(input.scheduledAt ? 'scheduled' : 'processing');
  else if (waitsFor(input.scheduledAt)) setBusinessStatus('scheduled');
  if (await waitUntil(input.scheduledAt)) return { status: 'cancelled' };

  // 0.2.0: one step plans and, unless deferred, delivers in-app at once, so a cancel is refused
  // while it runs (Updates reach a run between workflow tasks: only a step long enough to split
  // its task could meet one); a deferral opens the cancel window again.
  if (local) started = true;
  const plan = local
    ? await store.startNotification({ ...base, critical: input.critical })
    : { ...await store.planNotification({ ...base, critical: input.critical }), inApp: [], completed: false };
  if (plan.deferUntil) {
    started = false;
    if (!local || waitsFor(plan.deferUntil)) setBusinessStatus('deferred');
  }
  // Also catches a cancel accepted while the plan ran.
  if (await waitUntil(plan.deferUntil)) return { status: 'cancelled' };
  if (plan.deferUntil) await store.setNotificationStatus({ ...base, status: 'processing' });
  started = true;
  const attempted = new Set(plan.inApp.map((attempt) => attempt.deliveryId));
  const pending = plan.deliveries.filter((delivery) => !attempted.has(delivery.deliveryId));
  // A status is upserted where the run waits: for a provider, not for an in-app row.
  if (!local || pending.some((delivery) => delivery.channel !== 'in_app')) setBusinessStatus('processing');
  await Promise.all(pending.map((delivery) => deliverWithRetries({
    tenantId: input.tenantId, deliveryId: delivery.deliveryId, channel: delivery.channel, priority: input.priority,
    retry: input.retry, queuePrefix: input.deliveryQueuePrefix, local,
  })));
  if (!plan.completed) await store.setNotificationStatus({ ...base, status: 'completed' });
  setBusinessStatus('completed');
  return { status: 'completed' };
}
