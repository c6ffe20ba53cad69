import type { WebhookAddressPolicy } from '../../../domain/notifications/address-policy.js';
import { signWebhook } from '../../../domain/notifications/signature.js';
import { safeHost } from './http.js';
import { DeliveryError, type WebhookSender } from './types.js';
import { postWebhook, systemResolver, type Resolver } from './webhook-http.js';

export interface WebhookSenderOptions {
  /** Per attempt (config WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** Where webhooks may go (config WEBHOOK_ALLOW_HTTP, WEBHOOK_PRIVATE_ALLOWLIST), checked at connect time. */
  policy: WebhookAddressPolicy;
  /** Opens the endpoint's sealed secrets (platform/secrets.ts SecretBox). */
  secretBox: { open(sealed: string): string };
  /** DNS for the connect-time check (tests inject a rebinding one); the system resolver by default. */
  resolver?: Resolver;
  /** The clock the signature's timestamp comes from (tests pin it). */
  nowMs?: () => number;
}

export const WEBHOOK_USER_AGENT = 'Steadfast-Webhooks/1.0';

/**
 * Merchant webhooks: POSTs the stored raw body, signed at send time (a retry hours later carries a
 * fresh timestamp, so receivers can keep a short replay tolerance), with the event id and the
 * delivery's idempotency key; one `v1=` per secret (two while a rotation's grace lasts). 2xx is
 * sent; 410 means the endpoint is gone (not retried); any other answer, a redirect (never
 * followed) or no answer is retried. An address the SSRF policy refuses fails at once, before any
 * connection (webhook-http.ts). The response body is never read.
 *
 * @example
 * const webhooks = createWebhookSender({ timeoutMs: config.WEBHOOK_TIMEOUT_MS, policy: webhookAddressPolicyOf(config), secretBox: secretBoxOf(config) });
 * await webhooks.send({ url, sealedSecrets, eventId: 'evt_…', rawBody, idempotencyKey: deliveryId });
 */
export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const nowMs = options.nowMs ?? Date.now;
  return {
    async send(request) {
      if (!/^https?:\/\//i.test(request.url)) {
        throw new DeliveryError('webhook endpoint URL must be http(s)', false, undefined, 'rejected');
      }
      const secrets = request.sealedSecrets.map((sealed) => options.secretBox.open(sealed));
      const status = await postWebhook({
        url: request.url,
        headers: {
          'content-type': 'application/json',
          'user-agent': WEBHOOK_USER_AGENT,
          'steadfast-signature': signWebhook(secrets, Math.floor(nowMs() / 1_000), request.rawBody),
          'steadfast-event-id': request.eventId,
          'idempotency-key': request.idempotencyKey,
        },
        body: request.rawBody,
        timeoutMs: options.timeoutMs,
        policy: options.policy,
        resolver: options.resolver ?? systemResolver,
      });
      if (status >= 200 && status < 300) return { providerMessageId: null, responseStatus: status };
      const host = safeHost(request.url);
      if (status === 410) throw new DeliveryError(`webhook endpoint ${host} is gone (410)`, false, status, 'endpoint_gone');
      if (status >= 300 && status < 400) {
        throw new DeliveryError(`webhook endpoint ${host} redirected (${status}); redirects are not followed`, true, status, 'unexpected_response');
      }
      // Any other answer is retried: a merchant's 4xx is usually a deploy or config mistake they fix.
      const code = status >= 400 && status < 500 && status !== 408 && status !== 429 ? 'rejected' : 'provider_unavailable';
      throw new DeliveryError(`webhook endpoint ${host} answered ${status}`, true, status, code);
    },
  };
}
