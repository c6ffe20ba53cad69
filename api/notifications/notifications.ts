import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';
import { createRoute } from '@hono/zod-openapi';
import type { Client } from '@temporalio/client';
import { errors } from '../errors.js';
import { renderContent, TemplateError } from '../../domain/notifications/render.js';
import { templateChannels, type Channel } from '../../domain/notifications/types.js';
import {
  createNotificationInTransaction, deleteUnstartedNotification, getNotification, type Notification,
} from '../../store/notifications/notifications.js';
import { findTemplate } from '../../store/notifications/templates.js';
import type { Config } from '../../platform/config.js';
import { notificationRetry } from '../../platform/notification-settings.js';
import { cancelNotificationUpdate, type NotificationInput } from '../../workflows/notifications/types.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { commonErrors, IdParam, idempotencyHeader, jsonBody, jsonResponse } from '../schemas.js';
import { requestKeyOf, startWorkflow } from '../workflow-start.js';
import { runUpdate, updateIdOf } from '../workflow-updates.js';
import { bracketParam, CreateNotification, NotificationBody } from './schemas.js';

const tags = ['Notifications'];
/** How far ahead a notification can be scheduled. */
export const SCHEDULE_AHEAD_MAX_MS = 366 * 86_400_000;
/** A `scheduled_at` this little in the past is a clock skew of the client: sent now. Older: 400. */
export const SCHEDULE_SKEW_MS = 60_000;

const routes = {
  create: createRoute({
    method: 'post', path: '/', tags, summary: 'Send a notification to a user over the chosen channels',
    description: 'Starts the notification workflow and answers 202 with one `queued` delivery per channel. '
      + 'The template is the tenant’s own or a built-in one (unknown: 404 resource_missing, param template_id); '
      + 'every channel must be in the template (400 parameter_invalid, param channels); '
      + '`scheduled_at` may be up to one year ahead (in the past: 400).',
    request: { body: jsonBody(CreateNotification), headers: idempotencyHeader },
    responses: { 202: jsonResponse('Accepted', NotificationBody), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags, summary: 'A notification with its deliveries', request: { params: IdParam },
    responses: { 200: jsonResponse('The notification', NotificationBody), ...commonErrors },
  }),
  cancel: createRoute({
    method: 'post', path: '/{id}/cancel', tags,
    summary: 'Cancel a scheduled or deferred notification (409 notification_invalid_state once delivery has started)',
    request: { params: IdParam, headers: idempotencyHeader },
    responses: { 200: jsonResponse('The cancelled notification', NotificationBody), ...commonErrors },
  }),
};

/** Checks what the schema cannot: the template, its channels, the data it renders, the time. */
async function checkRequest(
  deps: AppDeps,
  tenantId: string,
  body: { template_id: string; channels: Channel[]; data: Record<string, unknown>; scheduled_at?: string | undefined },
): Promise<Date | null> {
  const template = await findTemplate(deps.pool, tenantId, body.template_id);
  if (!template) throw errors.resourceMissing('notification template', 'template_id');
  const offered = templateChannels(template.channels);
  const missing = body.channels.filter((channel) => !offered.includes(channel));
  if (missing.length > 0) {
    throw errors.parameterInvalid('channels', `Template ${template.id} has no ${missing.join(', ')} content (it has: ${offered.join(', ')}).`);
  }
  // Rendering now refuses data the workflow could not render later (keys, value types, sizes), in
  // the default channels and in every locale variant (the recipient's locale is read when planned).
  for (const channel of body.channels) {
    try {
      for (const channels of [template.channels, ...Object.values(template.locales)]) {
        if (channels[channel] !== undefined) renderContent(channels, channel, body.data);
      }
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      throw errors.parameterInvalid(err.code === 'data_invalid' ? bracketParam(err.param ?? 'data') : 'data', err.message);
    }
  }
  if (body.scheduled_at === undefined) return null;
  const at = new Date(body.scheduled_at);
  const now = Date.now();
  if (at.getTime() < now - SCHEDULE_SKEW_MS) throw errors.parameterInvalid('scheduled_at', 'scheduled_at is in the past.');
  if (at.getTime() > now + SCHEDULE_AHEAD_MAX_MS) throw errors.parameterInvalid('scheduled_at', 'scheduled_at is more than a year ahead.');
  return at;
}

function workflowInput(config: Config, tenantId: string, n: Notification): NotificationInput {
  return {
    tenantId, notificationId: n.id, priority: n.priority, critical: n.critical, scheduledAt: n.scheduled_at, channels: n.channels,
    retry: notificationRetry(config), deliveryQueuePrefix: config.TASK_QUEUE_NOTIFICATIONS,
  };
}

const cancelUpdate = <T>(fn: () => Promise<T>) =>
  runUpdate(fn, () => errors.notificationInvalidState('The notification has finished.'));

async function cancel(temporal: Client, n: Notification, updateId: string | undefined): Promise<void> {
  if (n.status !== 'scheduled' && n.status !== 'deferred') {
    throw errors.notificationInvalidState(`Only a scheduled or deferred notification can be cancelled; this one is ${n.status}.`);
  }
  // With a key, a retry joins the first attempt's Update (or gets its outcome) instead of meeting its validator.
  await cancelUpdate(() => temporal.workflow.getHandle(workflowIdOf(workflowContracts.notification, n.id))
    .executeUpdate(cancelNotificationUpdate, { updateId }));
}

/** `/v1/notifications` */
export function notificationRoutes(deps: AppDeps) {
  const { pool, temporal, config } = deps;
  const requireNotification = async (tenantId: string, id: string) => {
    const notification = await getNotification(pool, tenantId, id);
    if (!notification) throw errors.resourceMissing('notification', 'id');
    return notification;
  };
  return createRouter()
    .openapi(routes.create, async (c) => {
      const tenantId = tenantOf(c);
      const body = c.req.valid('json');
      const scheduledAt = await checkRequest(deps, tenantId, body);
      // A retry with the same Idempotency-Key adopts the notification its first attempt wrote (and its run).
      const { notification, sameRequest } = await createNotificationInTransaction(pool, {
        tenantId, userId: body.user_id, templateId: body.template_id, data: body.data, channels: body.channels,
        priority: body.priority, critical: body.critical ?? false, scheduledAt,
        requestKey: requestKeyOf(c, config),
      });
      if (!sameRequest) throw errors.idempotencyKeyReused();
      await startWorkflow({ temporal, config }, workflowContracts.notification, {
        key: notification.id, tenantId, input: workflowInput(config, tenantId, notification),
        // Definitely not started: nothing was sent, so nothing stays behind (the client may retry).
        // Maybe started: the rows stay (202) and the start reconciler sees they get their run.
        undoIfNotStarted: () => deleteUnstartedNotification(pool, tenantId, notification.id),
      });
      return c.json(await requireNotification(tenantId, notification.id), 202);
    })
    .openapi(routes.get, async (c) => c.json(await requireNotification(tenantOf(c), c.req.valid('param').id), 200))
    .openapi(routes.cancel, async (c) => {
      const notification = await requireNotification(tenantOf(c), c.req.valid('param').id);
      // Cancelling twice answers the cancelled notification again (like a replayed request).
      if (notification.status !== 'cancelled') await cancel(temporal, notification, updateIdOf(c, 'cancel'));
      return c.json(await requireNotification(tenantOf(c), notification.id), 200);
    });
}
