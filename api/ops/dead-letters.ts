import { workflowContracts } from '../../workflows/contracts.js';
import { createRoute, z } from '@hono/zod-openapi';
import { CHANNELS } from '../../domain/notifications/types.js';
import type { Config } from '../../platform/config.js';
import { withTransaction } from '../../store/db.js';
import { listDeadLetters, requeueDeadLetter, restoreDeadLetter, type Delivery } from '../../store/notifications/deliveries.js';
import { notificationRetry, webhookRetry } from '../../platform/notification-settings.js';
import type { DeadLetterRetryInput } from '../../workflows/notifications/types.js';
import { createRouter, type AppDeps } from '../context.js';
import { DeliveryBody } from '../notifications/schemas.js';
import { commonErrors, IdParam, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { startWorkflow } from '../workflow-start.js';

/** One run per ops retry: the n-th retry of a delivery is `dead-letter-retry-<dlv_id>-<n>`. */

const DeadLetterQuery = ListQuery.extend({
  tenant_id: z.string().min(1).max(100).optional(),
  channel: z.enum([...CHANNELS, 'webhook']).optional(),
});

const routes = {
  list: createRoute({
    method: 'get', path: '/', tags: ['Ops'], summary: 'Dead-lettered deliveries of every tenant, newest first',
    request: { query: DeadLetterQuery },
    responses: { 200: jsonResponse('Dead letters', listOf(DeliveryBody)), ...commonErrors },
  }),
  retry: createRoute({
    method: 'post', path: '/{id}/retry', tags: ['Ops'], summary: 'Replay a dead letter: one more round of attempts',
    description: 'Answers 202 with the delivery back in `queued`; a delivery that is not dead-lettered (e.g. a concurrent '
      + 'retry took it) answers 409 delivery_invalid_state.',
    request: { params: IdParam },
    responses: { 202: jsonResponse('Queued again', DeliveryBody), ...commonErrors },
  }),
};

function retryInput(config: Config, d: Delivery): DeadLetterRetryInput {
  if (d.channel === 'webhook') {
    return {
      tenantId: d.tenant_id, deliveryId: d.id, channel: d.channel, priority: d.priority, retry: webhookRetry(config),
      deliveryQueuePrefix: config.TASK_QUEUE_NOTIFICATIONS,
    };
  }
  return {
    tenantId: d.tenant_id, deliveryId: d.id, channel: d.channel, priority: d.priority, retry: notificationRetry(config),
    deliveryQueuePrefix: config.TASK_QUEUE_NOTIFICATIONS,
  };
}

/** `/v1/ops/dead-letters` (admin key): deliveries that ran out of attempts, and their replay. */
export function deadLetterRoutes({ pool, temporal, config }: AppDeps) {
  return createRouter()
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      const page = await listDeadLetters(pool, {
        tenantId: q.tenant_id, channel: q.channel, limit: q.limit, startingAfter: q.starting_after,
      });
      return c.json(page, 200);
    })
    .openapi(routes.retry, async (c) => c.json(await retryDeadLetter({ pool, temporal, config }, c.req.valid('param').id), 202));
}

/** Replays a dead letter (the route and `npm run ops -- dead-letters retry`): back in `queued`, its retry run started. */
export async function retryDeadLetter({ pool, temporal, config }: Pick<AppDeps, 'pool' | 'temporal' | 'config'>, id: string): Promise<Delivery> {
  const { delivery, previousError } = await withTransaction(pool, (client) => requeueDeadLetter(client, id));
  // Started after the commit, so the run's first read sees the delivery queued.
  await startWorkflow({ temporal, config }, workflowContracts.deadLetterRetry, {
    key: `${delivery.id}-${delivery.retries}`, tenantId: delivery.tenant_id, input: retryInput(config, delivery),
    // Definitely not started: back in the dead letters, as it was, so ops can retry again. Maybe
    // started: it stays queued (202) and the start reconciler sees its retry run exists.
    undoIfNotStarted: () => restoreDeadLetter(pool, delivery, previousError),
  });
  return delivery;
}
