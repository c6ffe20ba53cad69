import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import {
  PROVIDER_SIGNATURE_HEADER, RECEIPT_PROVIDERS, RECEIPT_STATUSES, type ReceiptCallback, type ReceiptProvider,
} from '../../domain/notifications/receipts.js';
import { verifyWebhookSignature } from '../../domain/notifications/signature.js';
import type { Config } from '../../platform/config.js';
import { withTransaction } from '../../store/db.js';
import { applyBroadcastReceipt } from '../../store/notifications/broadcasts.js';
import { recordBounce } from '../../store/notifications/contact-bounces.js';
import { applyDeliveryReceipt } from '../../store/notifications/deliveries.js';
import { createRouter, type AppDeps, type AppEnv } from '../context.js';
import { errors } from '../errors.js';
import { jsonBody, jsonResponse } from '../schemas.js';

/** How far a callback's signed timestamp may be from now (replay protection), as our own webhooks. */
export const RECEIPT_TOLERANCE_SECONDS = 300;

const ProviderParam = z.strictObject({
  provider: z.string().min(1).max(50).openapi({ param: { name: 'provider', in: 'path' }, example: 'sms', description: RECEIPT_PROVIDERS.join(', ') }),
});

const Receipt = z.strictObject({
  id: z.string().min(1).max(255).openapi({ description: 'The provider’s id of this callback.' }),
  message_id: z.string().min(1).max(1_000).openapi({ description: 'The provider’s id of the message, as it answered the send (SMS sid, push message id, e-mail Message-ID).' }),
  status: z.enum(RECEIPT_STATUSES),
  recipient: z.string().min(1).max(4_096).openapi({ description: 'The address, number or push token the message went to.' }),
  occurred_at: z.iso.datetime({ offset: true }),
  error_code: z.string().max(100).nullable().optional().openapi({ description: 'The provider’s reason for a bounce.' }),
}).openapi('ProviderReceipt');

const ReceiptAnswer = z.object({
  object: z.literal('provider_receipt'),
  provider: z.enum(RECEIPT_PROVIDERS),
  message_id: z.string(),
  delivery_status: z.string().openapi({ description: 'The delivery’s status after this receipt.' }),
  applied: z.boolean().openapi({ description: 'False when the receipt changed nothing (a duplicate, or a `delivered` after `bounced`).' }),
}).openapi('ProviderReceiptAnswer');

const errorResponse = (description: string) => jsonResponse(description, z.object({ error: z.object({ type: z.string(), code: z.string(), message: z.string(), param: z.string().optional() }) }));

const routes = {
  receive: createRoute({
    method: 'post', path: '/{provider}', tags: ['Notifications'], security: [],
    summary: 'A provider’s delivery receipt (signed by the provider, no API key)',
    description: [
      'Providers POST a status callback for each message they accepted, signed',
      '`Provider-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with that provider’s shared secret',
      '(EMAIL_/SMS_/PUSH_CALLBACK_SECRET); a timestamp over 5 minutes from now is refused. The delivery is found by the',
      'provider’s message id (a notification’s or a broadcast’s) and moves `sent` → `delivered` or `bounced`, `delivered` →',
      '`bounced`; `bounced` is final, a repeat is answered 200 with `applied: false`. A bounce also marks the address',
      '(e-mail, number, push token) bounced in the tenant: later notifications and broadcasts skip it (`skipped_no_contact`).',
      'An unknown message id is `404 resource_missing`, so the provider retries: its callback can arrive before the send is recorded.',
    ].join(' '),
    request: { params: ProviderParam, body: jsonBody(Receipt) },
    responses: {
      200: jsonResponse('The receipt, applied or already applied', ReceiptAnswer),
      400: errorResponse('Invalid body'),
      401: errorResponse('Missing or invalid Provider-Signature'),
      404: errorResponse('Unknown provider, or no delivery has this message id (yet): retry later'),
      413: errorResponse('Body over 64 KiB'),
      415: errorResponse('Body is not JSON'),
      429: errorResponse('Rate limited (too many refused signatures from this address)'),
      500: errorResponse('Internal error'),
    },
  }),
};

type CallbackSecrets = Pick<Config, 'EMAIL_CALLBACK_SECRET' | 'SMS_CALLBACK_SECRET' | 'PUSH_CALLBACK_SECRET'>;

function secretOf(config: CallbackSecrets, provider: ReceiptProvider): string {
  switch (provider) {
    case 'email': return config.EMAIL_CALLBACK_SECRET;
    case 'sms': return config.SMS_CALLBACK_SECRET;
    case 'push': return config.PUSH_CALLBACK_SECRET;
    default: {
      const unknown: never = provider;
      throw new Error(`unknown provider ${String(unknown)}`);
    }
  }
}

const isProvider = (value: string): value is ReceiptProvider => (RECEIPT_PROVIDERS as readonly string[]).includes(value);

/**
 * Before the body is validated: an unknown provider is 404, and the raw body must carry that
 * provider's signature (401 otherwise: nothing is read or written for a forged callback).
 */
function verifyProviderSignature(config: CallbackSecrets): MiddlewareHandler<AppEnv> {
  return async function verifyProviderSignatureOf(c, next) {
    const provider = c.req.param('provider') ?? '';
    if (!isProvider(provider)) throw errors.resourceMissing('provider', 'provider');
    const header = c.req.header(PROVIDER_SIGNATURE_HEADER);
    if (!header) throw errors.signatureMissing();
    const check = verifyWebhookSignature(header, secretOf(config, provider), await c.req.text(), { toleranceSeconds: RECEIPT_TOLERANCE_SECONDS });
    if (!check.ok) throw errors.signatureInvalid();
    await next();
  };
}

/** The address a bounce marks; null when the provider names a token the delivery never went to. */
function bouncedAddress(to: string | string[] | null, recipient: string): string | null {
  if (typeof to === 'string') return to; // e-mail and SMS: where we sent it
  if (Array.isArray(to)) return to.includes(recipient) ? recipient : null; // push: one of the delivery's tokens
  return recipient; // a broadcast row keeps no address
}

/**
 * Applies one receipt in one transaction: to the notification delivery with that message id,
 * else to the broadcast delivery; a bounce that changed the delivery marks its address. The
 * address is the delivery's own for e-mail and SMS; for push (a delivery reaches several tokens)
 * and broadcasts (whose rows keep no address), the recipient the provider names.
 */
async function applyReceipt(deps: Pick<AppDeps, 'pool'>, provider: ReceiptProvider, receipt: ReceiptCallback) {
  const error = receipt.status === 'bounced' ? `bounced${receipt.error_code ? `: ${receipt.error_code}` : ''}` : null;
  const input = { channel: provider, providerMessageId: receipt.message_id, status: receipt.status, error };
  return withTransaction(deps.pool, async (client) => {
    const single = await applyDeliveryReceipt(client, input);
    const applied = single ?? (await applyBroadcastReceipt(client, input));
    if (!applied) return null;
    if (applied.changed && applied.status === 'bounced') {
      const address = bouncedAddress(single?.to ?? null, receipt.recipient);
      if (address !== null) {
        await recordBounce(client, {
          tenantId: applied.tenantId, channel: provider, address, providerMessageId: receipt.message_id, errorCode: receipt.error_code ?? null,
        });
      }
    }
    return applied;
  });
}

/** `/v1/provider-callbacks` (contract §10): mounted before the API-key chain, as it has none. */
export function providerCallbackRoutes(deps: Pick<AppDeps, 'pool' | 'config'>) {
  const route = { ...routes.receive, middleware: [verifyProviderSignature(deps.config)] };
  return createRouter().openapi(route, async (c) => {
    const { provider } = c.req.valid('param');
    if (!isProvider(provider)) throw errors.resourceMissing('provider', 'provider'); // checked by the middleware already
    const receipt = c.req.valid('json');
    const applied = await applyReceipt(deps, provider, receipt);
    if (!applied) throw errors.resourceMissing('delivery with this message_id', 'message_id');
    return c.json({
      object: 'provider_receipt' as const, provider, message_id: receipt.message_id, delivery_status: applied.status, applied: applied.changed,
    }, 200);
  });
}
