import type { DataConverter } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkerDeploymentOptions } from '@temporalio/worker';
import type pg from 'pg';
import type { ChannelSenders } from '../activities/notifications/channels/types.js';
import { createBroadcastActivities } from '../activities/notifications/broadcast-activities.js';
import { createDeliveryActivities } from '../activities/notifications/delivery-activities.js';
import { createDigestActivities, type DigestStarter } from '../activities/notifications/digest-activities.js';
import type { Cache } from '../platform/cache/index.js';
import type { OutboundLimiter } from '../platform/rate-limit/outbound.js';
import { CHANNELS, PRIORITIES, type Priority } from '../domain/notifications/types.js';
import { deliveryTaskQueue } from '../workflows/notifications/types.js';
import { tracingWorkerInterceptors } from '../platform/telemetry/temporal.js';
import type { Tracing } from '../platform/telemetry/tracing.js';
import { createDomainWorker, type WorkerLimits } from './domain-worker.js';

export interface NotificationWorkerOptions extends WorkerLimits {
  connection: NativeConnection;
  namespace: string;
  /** The workflows' queue, and the prefix of the delivery queues. */
  taskQueue: string;
  pool: pg.Pool;
  senders: ChannelSenders;
  outbound?: OutboundLimiter;
  /** Users' preferences are read through it (activities/notifications/preferences.ts); absent: from PostgreSQL. */
  cache?: Cache | undefined;
  pollers: Record<Priority, number>;
  /** E-mail digests: starts their runs, and caps the e-mails one holds (DIGEST_MESSAGES_MAX); absent: none. */
  digests?: { starter: DigestStarter; messagesMax: number } | undefined;
  workflowBundlePath?: string;
  dataConverter: DataConverter;
  /** Every queue of the deployment polls as the same version (the server checks it on set-current). */
  workerDeploymentOptions?: WorkerDeploymentOptions | undefined;
  tracing?: Tracing | undefined;
}

/**
 * The notification workers: one for the workflows and their control steps, and an activity-only
 * worker per channel and priority (`notifications-email-high`, …), so a slow SMTP server cannot
 * hold up push, and high-priority deliveries have pollers of their own (more of them).
 */
export async function createNotificationWorkers(options: NotificationWorkerOptions): Promise<Worker[]> {
  const activities = createDeliveryActivities({
    pool: options.pool, senders: options.senders, outbound: options.outbound, cache: options.cache, digests: options.digests,
  });
  const digests = createDigestActivities({ pool: options.pool, email: options.senders.email, outbound: options.outbound, cache: options.cache });
  const broadcasts = createBroadcastActivities({ pool: options.pool, senders: options.senders });
  const workers = [await createDomainWorker({ ...options, activities: { ...activities, ...broadcasts, ...digests } })];
  for (const channel of [...CHANNELS, 'webhook'] as const) {
    for (const priority of PRIORITIES) {
      workers.push(await Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue: deliveryTaskQueue(options.taskQueue, channel, priority),
        activities: { attemptDelivery: activities.attemptDelivery },
        interceptors: tracingWorkerInterceptors(), // activities only: no workflow, no span sink
        dataConverter: options.dataConverter,
        ...(options.workerDeploymentOptions ? { workerDeploymentOptions: options.workerDeploymentOptions } : {}),
        maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions,
        // Issue #14: ten queues' idle long polls cost CPU in this process and the server. One poll
        // each while idle, up to the priority's pollers under load (the server's poll answers say
        // when more would get tasks).
        activityTaskPollerBehavior: { type: 'autoscaling', minimum: 1, initial: 1, maximum: options.pollers[priority] },
        shutdownGraceTime: options.shutdownGraceTimeMs,
      }));
    }
  }
  return workers;
}
