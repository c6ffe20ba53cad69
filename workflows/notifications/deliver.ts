import { ActivityFailure, sleep, type LocalActivityOptions } from '@temporalio/workflow';
import type { DeliveryActivities } from '../../activities/notifications/delivery-activities.js';
import type { Channel, Priority } from '../../domain/notifications/types.js';
import { LOCAL_RETRY_THRESHOLD, proxySteps } from '../activity-options.js';
import { deliveryTaskQueue, type RetrySettings } from './types.js';

/**
 * One provider call per activity. A worker crash or a database hiccup is retried by Temporal with
 * the same attempt number (the provider dedupes by the delivery's key); provider failures come back
 * as values so that this loop owns the schedule: Temporal's retry policy has no jitter.
 */
const ATTEMPT_OPTIONS = {
  startToCloseTimeout: '2m',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
} as const;

/** The same, as a local activity (an in-app attempt is a PostgreSQL insert in the workflow's own worker). */
const LOCAL_ATTEMPT_OPTIONS: LocalActivityOptions = { ...ATTEMPT_OPTIONS, localRetryThreshold: LOCAL_RETRY_THRESHOLD };

/** Exponential backoff with "equal jitter": half fixed, half random (deterministic in a workflow). */
export function backoffMs(retry: RetrySettings, attempt: number): number {
  const exponential = retry.initialIntervalMs * retry.backoffCoefficient ** (attempt - 1);
  const capped = Math.min(retry.maxIntervalMs, exponential);
  return Math.round(capped / 2 + Math.random() * (capped / 2));
}

/** `held`: an e-mail waiting in the user's digest (its `digest-<dgst_id>` run sends it). */
export type DeliveryOutcome = 'sent' | 'failed' | 'dead_lettered' | 'held';

export interface DeliverArgs {
  tenantId: string;
  deliveryId: string;
  channel: Channel | 'webhook';
  priority: Priority;
  retry: RetrySettings;
  queuePrefix: string;
  /** The first attempt number (an ops retry of a dead letter continues the count). */
  firstAttempt?: number;
  /**
   * The run took the local-steps patch (release 0.2.0, `stepsAreLocal()`): in-app attempts and the
   * dead letter are local activities. Providers' channels stay on their queues either way.
   */
  local?: boolean;
}

/**
 * Delivers one delivery: attempts on the channel's task queue for its priority (in-app ones, on a
 * `local` run, in the workflow's worker), backoff between them, and after the last one the
 * delivery is dead-lettered (recorded on the control queue, or locally on a `local` run).
 */
export async function deliverWithRetries(args: DeliverArgs): Promise<DeliveryOutcome> {
  const local = args.local ?? false;
  const channelActivities = proxySteps<DeliveryActivities>(local && args.channel === 'in_app', LOCAL_ATTEMPT_OPTIONS,
    { ...ATTEMPT_OPTIONS, taskQueue: deliveryTaskQueue(args.queuePrefix, args.channel, args.priority) });
  const control = proxySteps<DeliveryActivities>(local, LOCAL_ATTEMPT_OPTIONS, ATTEMPT_OPTIONS);
  const first = args.firstAttempt ?? 1;
  const last = first + args.retry.maxAttempts - 1;
  for (let attempt = first; attempt <= last; attempt++) {
    try {
      const result = await channelActivities.attemptDelivery({ tenantId: args.tenantId, deliveryId: args.deliveryId, attempt });
      if (result.status !== 'retry') return result.status;
    } catch (err) {
      // The activity itself kept failing (not the provider): counts as a failed attempt.
      if (!(err instanceof ActivityFailure)) throw err;
    }
    if (attempt < last) await sleep(backoffMs(args.retry, attempt - first + 1));
  }
  await control.deadLetter({ tenantId: args.tenantId, deliveryId: args.deliveryId, attempts: last });
  return 'dead_lettered';
}
