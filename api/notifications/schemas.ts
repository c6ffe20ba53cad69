import { z } from '@hono/zod-openapi';
import { PUSH_TOKENS_MAX } from '../../store/notifications/contacts.js';
import { isValidTimeOfDay, isValidTimeZone } from '../../domain/notifications/quiet-hours.js';
import { canonicalLocale, LOCALE_MAX_CHARS, LOCALES_MAX } from '../../domain/notifications/locales.js';
import { TEMPLATE_PART_MAX_CHARS } from '../../domain/notifications/render.js';
import {
  CHANNELS, DELIVERY_STATUSES, NOTIFICATION_STATUSES, PRIORITIES, WEBHOOK_EVENT_TYPES,
} from '../../domain/notifications/types.js';
import { FreeText, withoutCardNumbers } from '../schemas.js';

/** Request and response schemas of the notification API (contract §5). */

const unique = (values: readonly unknown[]) => new Set(values).size === values.length;

/** The tenant's own id for a person (an employee id, an account owner id, ...). */
const UserId = z.string().min(1).max(255).regex(/^[^\u0000-\u001f\u007f]+$/, 'No control characters.');
export const UserIdParam = z.strictObject({ user_id: UserId.openapi({ param: { name: 'user_id', in: 'path' }, example: 'emp_01JD…' }) });
export const MessageParams = UserIdParam.extend({
  message_id: z.string().min(1).max(100).openapi({ param: { name: 'message_id', in: 'path' } }),
});

export const TemplateId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,100}$/, '1 to 100 characters: letters, digits, _ . : -')
  .openapi({ example: 'transfer.received' });

/** Template text is sent to every recipient: free text, so never a card number (api/schemas.ts FreeText). */
const Part = (max: number) => FreeText(Math.min(max, TEMPLATE_PART_MAX_CHARS)).min(1);
export const TemplateChannelsSchema = z
  .strictObject({
    email: z.strictObject({ subject: Part(500), body: Part(TEMPLATE_PART_MAX_CHARS) }).optional(),
    sms: z.strictObject({ body: Part(1_600) }).optional(),
    push: z.strictObject({ title: Part(200), body: Part(2_000) }).optional(),
    in_app: z.strictObject({ title: Part(200), body: Part(TEMPLATE_PART_MAX_CHARS) }).optional(),
  })
  .refine((channels) => CHANNELS.some((channel) => channels[channel] !== undefined), { message: 'Give at least one channel.' })
  .openapi('TemplateChannels', { description: '`{{var}}` placeholders; HTML-escaped in the email body.' });

/** A BCP 47 language tag (`fr`, `fr-CA`, `zh-Hant`), stored in its canonical case. */
const LocaleTag = z.string().min(2).max(LOCALE_MAX_CHARS)
  .refine((tag) => canonicalLocale(tag) !== null, { message: 'A BCP 47 language tag such as fr, fr-CA or zh-Hant.' })
  .transform((tag) => canonicalLocale(tag)!);
/** Checked further by the route (tags, channels the default has, template syntax): domain/notifications/locales.ts. */
const TemplateLocalesSchema = z.record(z.string().min(1).max(LOCALE_MAX_CHARS), TemplateChannelsSchema)
  .refine((locales) => Object.keys(locales).length <= LOCALES_MAX, { message: `At most ${LOCALES_MAX} locales.` })
  .openapi('TemplateLocales', {
    description: 'Translations by BCP 47 tag (`{"fr": {channels}}`). A recipient gets, per channel, the variant of their contact '
      + 'locale, else of its language (`fr-CA` → `fr`), else the default channels; a variant may only translate channels the default has.',
  });

export const CreateTemplate = z.strictObject({ id: TemplateId, channels: TemplateChannelsSchema, locales: TemplateLocalesSchema.optional() })
  .openapi('CreateNotificationTemplate');
export const UpdateTemplate = z.strictObject({ channels: TemplateChannelsSchema, locales: TemplateLocalesSchema.optional() })
  .openapi('UpdateNotificationTemplate', { description: 'Replaces the template: locales left out are removed.' });
export const TemplateBody = z
  .object({
    id: z.string(), object: z.literal('notification_template'), source: z.enum(['tenant', 'built_in']), channels: TemplateChannelsSchema,
    locales: z.record(z.string(), TemplateChannelsSchema),
    created_at: z.string().nullable(), updated_at: z.string().nullable(),
  })
  .openapi('NotificationTemplate');

/** E.164: `+`, country code, up to 15 digits in all. */
const Phone = z.string().regex(/^\+[1-9]\d{1,14}$/, 'An E.164 number such as +14155550123.');
export const PutContacts = z
  .strictObject({
    email: z.email().max(320).nullable().optional(),
    phone: Phone.nullable().optional(),
    push_tokens: z.array(z.string().min(1).max(4_096)).max(PUSH_TOKENS_MAX)
      .refine(unique, { message: 'Push tokens must be unique.' }).optional(),
    locale: LocaleTag.nullable().optional()
      .openapi({ description: 'BCP 47 (`fr-CA`): templates render in it, else its language, else their default.' }),
  })
  .openapi('PutUserContacts');
export const ContactsBody = z
  .object({
    object: z.literal('user_contacts'), user_id: z.string(), email: z.string().nullable(), phone: z.string().nullable(),
    push_tokens: z.array(z.string()), locale: z.string().nullable(), updated_at: z.string().nullable(),
  })
  .openapi('UserContacts');

const QuietHours = z
  .strictObject({
    start: z.string().refine(isValidTimeOfDay, { message: 'A local time as HH:MM (00:00 to 23:59).' }),
    end: z.string().refine(isValidTimeOfDay, { message: 'A local time as HH:MM (00:00 to 23:59).' }),
    time_zone: z.string().max(64).refine(isValidTimeZone, { message: 'An IANA time zone such as Europe/Paris.' }),
  })
  .openapi('QuietHours', { description: 'Daily window (end before start spans midnight; start = end: none).' });
const ChannelSwitch = z.boolean().nullable().optional().openapi({ description: 'false opts out; null restores the default (on).' });
/** A digest window: `<n>s`, `<n>m` or `<n>h`, within DIGEST_WINDOW_MIN..DIGEST_WINDOW_MAX (checked by the route). */
const DigestWindow = z.string().regex(/^[1-9]\d{0,4}(s|m|h)$/, 'A duration such as 15m, 1h or 24h.');
const Digest = z
  .strictObject({ email: DigestWindow.nullable().optional() })
  .openapi('DigestPreference', {
    description: 'Normal-priority, non-critical e-mails are held and sent as ONE e-mail (template `digest`) when the window that '
      + 'the first one opened ends; high-priority and critical ones go at once. `null` (or `email: null`) sends every e-mail at once.',
  });
export const PutPreferences = z
  .strictObject({
    email: ChannelSwitch, sms: ChannelSwitch, push: ChannelSwitch, in_app: ChannelSwitch, quiet_hours: QuietHours.nullable().optional(),
    digest: Digest.nullable().optional(),
  })
  .openapi('PutNotificationPreferences');
export const PreferencesBody = z
  .object({
    object: z.literal('notification_preferences'), user_id: z.string(), email: z.boolean(), sms: z.boolean(), push: z.boolean(),
    in_app: z.boolean(), quiet_hours: z.object({ start: z.string(), end: z.string(), time_zone: z.string() }).nullable(),
    digest: z.object({ email: z.string() }).nullable(),
    updated_at: z.string().nullable(),
  })
  .openapi('NotificationPreferences');

export const InboxMessageBody = z
  .object({
    id: z.string(), object: z.literal('inbox_message'), title: z.string(), body: z.string(), notification_id: z.string().nullable(),
    broadcast_id: z.string().nullable(), created_at: z.string(), read_at: z.string().nullable(),
  })
  .openapi('InboxMessage');

export const CreateNotification = z
  .strictObject({
    user_id: UserId,
    template_id: TemplateId,
    data: withoutCardNumbers(z.record(z.string(), z.unknown()))
      .openapi({ description: 'Template variables: up to 100 keys, scalar values; never a card number (400 parameter_invalid).' }),
    channels: z.array(z.enum(CHANNELS)).min(1).max(CHANNELS.length).refine(unique, { message: 'Channels must be unique.' }),
    priority: z.enum(PRIORITIES),
    scheduled_at: z.iso.datetime({ offset: true }).optional()
      .openapi({ description: 'ISO 8601; from now up to one year ahead. Absent: send now.' }),
    critical: z.boolean().optional().openapi({ description: 'Bypasses opt-outs and quiet hours (security alerts).' }),
  })
  .openapi('CreateNotification');

const DeliverySummary = z.object({
  id: z.string(), channel: z.enum(CHANNELS), status: z.enum(DELIVERY_STATUSES), attempts: z.number().int(),
  last_error: z.string().nullable(), provider_message_id: z.string().nullable(), updated_at: z.string(),
});
export const NotificationBody = z
  .object({
    id: z.string(), object: z.literal('notification'), user_id: z.string(), template_id: z.string(), channels: z.array(z.enum(CHANNELS)),
    priority: z.enum(PRIORITIES), critical: z.boolean(), scheduled_at: z.string().nullable(), status: z.enum(NOTIFICATION_STATUSES),
    deliveries: z.array(DeliverySummary), created_at: z.string(),
  })
  .openapi('Notification');

export const DeliveryBody = z
  .object({
    id: z.string(), object: z.literal('delivery'), tenant_id: z.string(), kind: z.enum(['notification', 'webhook']),
    channel: z.enum([...CHANNELS, 'webhook']), notification_id: z.string().nullable(), endpoint_id: z.string().nullable(),
    event_id: z.string().nullable(), priority: z.enum(PRIORITIES), status: z.enum(DELIVERY_STATUSES), attempts: z.number().int(),
    last_error: z.string().nullable(), provider_message_id: z.string().nullable(), response_status: z.number().int().nullable(),
    retries: z.number().int(), created_at: z.string(), updated_at: z.string(), sent_at: z.string().nullable(),
  })
  .openapi('Delivery');

/** http or https, with a host, without credentials (they would end up in logs). */
export function isWebhookUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '' && url.username === '' && url.password === '';
}

const WebhookEvent = z.enum([...WEBHOOK_EVENT_TYPES, '*']);
export const CreateWebhookEndpoint = z
  .strictObject({
    url: z.string().max(2_048).refine(isWebhookUrl, { message: 'An http(s) URL with a host and no credentials.' }),
    events: z.array(WebhookEvent).min(1).max(WEBHOOK_EVENT_TYPES.length + 1)
      .refine(unique, { message: 'Events must be unique.' })
      .refine((events) => !events.includes('*') || events.length === 1, { message: '"*" (every event) stands alone.' }),
  })
  .openapi('CreateWebhookEndpoint');
const WebhookEndpointFields = {
  id: z.string(), object: z.literal('webhook_endpoint'), url: z.string(), events: z.array(z.string()),
  status: z.enum(['enabled', 'disabled']), created_at: z.string(),
};
export const WebhookEndpointBody = z.object(WebhookEndpointFields).openapi('WebhookEndpoint');
export const WebhookEndpointCreatedBody = z
  .object({
    ...WebhookEndpointFields,
    secret: z.string().nullable().openapi({ description: 'Signs every delivery; shown only here (null in an idempotent replay).' }),
  })
  .openapi('WebhookEndpointWithSecret');

/** `channels.email.body` (domain spelling) → `channels[email][body]` (the API's parameter names). */
export function bracketParam(dotted: string): string {
  const [head, ...rest] = dotted.split('.');
  return (head ?? '') + rest.map((p) => `[${p}]`).join('');
}
