import { createRoute, z } from '@hono/zod-openapi';
import type { Cache } from '../../platform/cache/index.js';
import { getContacts, putContacts } from '../../store/notifications/contacts.js';
import { listInbox, markInboxMessageRead } from '../../store/notifications/inbox.js';
import { getPreferences, putPreferences, type DigestPreference, type PreferencesPatch } from '../../store/notifications/preferences.js';
import { digestWindowMs } from '../../domain/notifications/digest.js';
import type { Config } from '../../platform/config.js';
import { errors } from '../errors.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { commonErrors, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { createInboxListener, streamLimitsOf, type InboxListener } from './inbox-listener.js';
import { streamInbox } from './inbox-stream.js';
import {
  ContactsBody, InboxMessageBody, MessageParams, PreferencesBody, PutContacts, PutPreferences, UserIdParam,
} from './schemas.js';

const tags = ['Notifications'];
const InboxQuery = ListQuery.extend({ unread: z.enum(['true', 'false']).optional() });
const StreamHeaders = z.object({
  'last-event-id': z.string().regex(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/, 'An inbox message id (msg_…).').optional()
    .openapi({ param: { name: 'last-event-id', in: 'header' }, description: 'Replays the messages after this one first.' }),
});

const routes = {
  putContacts: createRoute({
    method: 'put', path: '/{user_id}/contacts', tags, summary: 'Replace where a user is reached (omitted fields are cleared)',
    request: { params: UserIdParam, body: jsonBody(PutContacts) },
    responses: { 200: jsonResponse('The contacts', ContactsBody), ...commonErrors },
  }),
  getContacts: createRoute({
    method: 'get', path: '/{user_id}/contacts', tags, summary: 'Where a user is reached (empty when never set)',
    request: { params: UserIdParam },
    responses: { 200: jsonResponse('The contacts', ContactsBody), ...commonErrors },
  }),
  putPreferences: createRoute({
    method: 'put', path: '/{user_id}/notification-preferences', tags,
    summary: 'Change a user’s channel opt-outs and quiet hours (only the fields given change)',
    description: 'Notifications planned or attempted after the answer see the change: once the write committed, the cached '
      + 'copies are dropped from Redis and every instance is told to drop its own (typically within a millisecond). If that '
      + 'fails the answer is `500`: the change is stored, and repeating the request is safe.',
    request: { params: UserIdParam, body: jsonBody(PutPreferences) },
    responses: { 200: jsonResponse('The preferences', PreferencesBody), ...commonErrors },
  }),
  getPreferences: createRoute({
    method: 'get', path: '/{user_id}/notification-preferences', tags,
    summary: 'A user’s preferences (defaults: every channel on, no quiet hours)',
    request: { params: UserIdParam },
    responses: { 200: jsonResponse('The preferences', PreferencesBody), ...commonErrors },
  }),
  stream: createRoute({
    method: 'get', path: '/{user_id}/inbox/stream', tags, summary: 'New in-app messages as Server-Sent Events',
    description: 'Each message is an `event: message` with `id: <msg id>` and the message as JSON data; '
      + 'a comment every 15 s keeps the connection open. Reconnect with `Last-Event-ID` to get what was missed.',
    request: { params: UserIdParam, headers: StreamHeaders },
    responses: {
      200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
      ...commonErrors,
    },
  }),
  inbox: createRoute({
    method: 'get', path: '/{user_id}/inbox', tags, summary: 'A user’s in-app messages, newest first',
    request: { params: UserIdParam, query: InboxQuery },
    responses: { 200: jsonResponse('Messages', listOf(InboxMessageBody)), ...commonErrors },
  }),
  read: createRoute({
    method: 'post', path: '/{user_id}/inbox/{message_id}/read', tags, summary: 'Mark a message read (idempotent)',
    request: { params: MessageParams, headers: idempotencyHeader },
    responses: { 200: jsonResponse('The message', InboxMessageBody), ...commonErrors },
  }),
};

/**
 * `/v1/users/:user_id/…`: contacts, preferences and the in-app inbox. Without
 * `deps.inboxListener` the first stream creates a listener of this router's own, which lets its
 * connection go once no stream has been open for a while (the entry point should pass one and close it).
 * `cache`: the app's; a change of preferences invalidates their cached copies on every instance.
 */
export function userRoutes({ pool, config, inboxListener, cache }: AppDeps & { cache: Cache }) {
  let listener: InboxListener | undefined = inboxListener;
  const listenerOf = () => (listener ??= createInboxListener({ connectionString: config.DATABASE_URL, ...streamLimitsOf(config) }));
  return createRouter()
    .openapi(routes.putContacts, async (c) => {
      const userId = c.req.valid('param').user_id;
      return c.json(await putContacts(pool, tenantOf(c), userId, c.req.valid('json')), 200);
    })
    .openapi(routes.getContacts, async (c) => c.json(await getContacts(pool, tenantOf(c), c.req.valid('param').user_id), 200))
    .openapi(routes.putPreferences, async (c) => {
      const userId = c.req.valid('param').user_id;
      const tenantId = tenantOf(c);
      const preferences = await putPreferences(pool, tenantId, userId, preferencesPatch(config, c.req.valid('json')));
      // After the commit (one statement): the next plan or attempt on any instance reads the new row.
      await cache.invalidate({ kind: 'notification_preferences', tenantId, userId });
      return c.json(preferences, 200);
    })
    .openapi(routes.getPreferences, async (c) => c.json(await getPreferences(pool, tenantOf(c), c.req.valid('param').user_id), 200))
    // Before `inbox/{message_id}`-style paths could shadow it.
    .openapi(routes.stream, (c) => streamInbox(c, {
      pool, listener: listenerOf(), tenantId: tenantOf(c), userId: c.req.valid('param').user_id,
      lastEventId: c.req.valid('header')['last-event-id'],
    }))
    .openapi(routes.inbox, async (c) => {
      const q = c.req.valid('query');
      const page = await listInbox(pool, tenantOf(c), c.req.valid('param').user_id, {
        limit: q.limit, startingAfter: q.starting_after, unread: q.unread === 'true',
      });
      return c.json(page, 200);
    })
    .openapi(routes.read, async (c) => {
      const { user_id: userId, message_id: messageId } = c.req.valid('param');
      const message = await markInboxMessageRead(pool, tenantOf(c), userId, messageId);
      if (!message) throw errors.resourceMissing('inbox message', 'message_id');
      return c.json(message, 200);
    });
}

/**
 * The patch as stored: a digest window within DIGEST_WINDOW_MIN..DIGEST_WINDOW_MAX (else `400
 * parameter_invalid`), and `digest: {email: null}` stored as no digest at all (`null`).
 */
function preferencesPatch(
  config: Config,
  body: Omit<PreferencesPatch, 'digest'> & { digest?: { email?: string | null | undefined } | null | undefined },
): PreferencesPatch {
  const { digest, ...rest } = body;
  if (digest === undefined) return rest;
  if (digest === null || digest.email == null) return { ...rest, digest: null };
  const windowMs = digestWindowMs(digest.email);
  if (windowMs === null || windowMs < config.DIGEST_WINDOW_MIN || windowMs > config.DIGEST_WINDOW_MAX) {
    throw errors.parameterInvalid('digest[email]',
      `The digest window must be from ${config.DIGEST_WINDOW_MIN / 1_000}s to ${config.DIGEST_WINDOW_MAX / 1_000}s (as 15m, 1h, 24h).`);
  }
  const stored: DigestPreference = { email: digest.email };
  return { ...rest, digest: stored };
}
