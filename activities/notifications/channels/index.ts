import type { Config } from '../../../platform/config.js';
import { secretBoxOf, webhookAddressPolicyOf } from '../../../platform/config-security.js';
import { createEmailSender } from './email.js';
import { createPushSender } from './push.js';
import { createSmsSender } from './sms.js';
import type { ChannelSenders } from './types.js';
import { createWebhookSender } from './webhook.js';

export { DeliveryError, type ChannelSenders, type DeliveryErrorCode, type SendResult } from './types.js';

/**
 * The provider adapters of the notification channels, built from the configuration once per
 * worker process. The worker owns them: at shutdown `push.close()` sends what waits for its
 * batch window, `email.close()` ends the SMTP pool.
 *
 * @example
 * const senders = createChannelSenders(loadConfig());
 * const workers = await createNotificationWorkers({ ...common, senders });
 */
export function createChannelSenders(config: Config): ChannelSenders {
  return {
    email: createEmailSender({ smtpUrl: config.SMTP_URL, from: config.SMTP_FROM, timeoutMs: config.PROVIDER_TIMEOUT_MS }),
    push: createPushSender({
      baseUrl: config.PUSH_PROVIDER_URL, batchSize: config.PUSH_BATCH_SIZE, windowMs: config.PUSH_BATCH_WINDOW, timeoutMs: config.PROVIDER_TIMEOUT_MS,
    }),
    sms: createSmsSender({
      baseUrl: config.SMS_PROVIDER_URL,
      accountSid: config.SMS_ACCOUNT_SID,
      authToken: config.SMS_AUTH_TOKEN,
      from: config.SMS_FROM,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
    }),
    webhook: createWebhookSender({
      timeoutMs: config.WEBHOOK_TIMEOUT_MS, policy: webhookAddressPolicyOf(config), secretBox: secretBoxOf(config),
    }),
  };
}
