import { z } from 'zod';
import { booleanFromEnv, durationFromEnv, intFromEnv } from './env.js';
import { parseHostPortList, type WebhookAddressPolicy } from '../domain/notifications/address-policy.js';
import { parseSealingKeys, SecretBox, type SealingKey } from './secrets.js';

/**
 * Security (issue #12): sealing keys for secrets at rest and the other security settings. Spread
 * into the one schema in platform/config.ts.
 */

/** The development key: `npm start` and tests only; production must set its own (checked at start). */
export const DEVELOPMENT_SEALING_KEYS = 'dev:c3RlYWRmYXN0LWRldmVsb3BtZW50LWtleS0zMmJ5dGU=';

/** The development payload key (issue #13): `npm start` and tests only; production refuses it. */
export const DEVELOPMENT_PAYLOAD_KEYS = 'dev:c3RlYWRmYXN0LWRldi1wYXlsb2FkLWtleS0zMmJ5dGU=';

/** `kid:base64(32 bytes)[,kid2:…]` parsed into keys (the first encrypts or seals, all decrypt). */
function keyListFromEnv(developmentDefault: string) {
  return z.string().default(developmentDefault).transform((text, ctx): SealingKey[] => {
    try {
      const keys = parseSealingKeys(text);
      if (keys.length === 0 || keys.some((k) => k.key.length !== 32)) throw new Error('each key must be 32 bytes');
      return keys;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `must be kid:base64(32 bytes)[,…]: ${(err as Error).message}` });
      return z.NEVER;
    }
  });
}

export const securityEnv = {
  /** `kid:base64(32 bytes)[,kid2:…]`: the first seals, all open (platform/secrets.ts). */
  SECRETS_ENCRYPTION_KEYS: keyListFromEnv(DEVELOPMENT_SEALING_KEYS),
  /**
   * Temporal payload encryption (platform/payload-codec.ts), same format: the first encrypts new
   * payloads, every listed key decrypts (rotation: new key first, drop the old one once no open
   * run or kept history needs it).
   */
  TEMPORAL_PAYLOAD_KEYS: keyListFromEnv(DEVELOPMENT_PAYLOAD_KEYS),
  /** Origins of the Temporal UI allowed to call the codec endpoint (`/codec/decode`, CORS). */
  TEMPORAL_UI_ORIGINS: z.string().default('http://localhost:8233,http://127.0.0.1:8233')
    .transform((text) => text.split(',').map((origin) => origin.trim().replace(/\/+$/, '')).filter(Boolean)),
  /**
   * The start reconciler (workers/start-reconciler.ts, in the worker process): every
   * RECONCILE_INTERVAL_MS it gives a run to each transfer, top-up, payment, notification and leave
   * request still in its initial status RECONCILE_AFTER_MS after its insert with no run in Temporal.
   */
  START_RECONCILER_ENABLED: booleanFromEnv('true'),
  RECONCILE_INTERVAL_MS: durationFromEnv('30s').pipe(z.number().int().min(100).max(3_600_000)),
  RECONCILE_AFTER_MS: durationFromEnv('60s').pipe(z.number().int().min(0).max(86_400_000)),
  /** Rows per kind per pass (the rest wait for the next pass). */
  RECONCILE_BATCH_SIZE: intFromEnv(100, 1, 1_000),
  /**
   * Fault injection for tests and drills only: the process SIGKILLs itself after a create request
   * wrote its row, before it starts the row's workflow (the row is left without a run until the
   * start reconciler gives it one).
   */
  FAULT_EXIT_BEFORE_START: booleanFromEnv('false'),
  /** Merchant webhooks (contract §5, SSRF): accept plain `http` URLs (development and tests only). */
  WEBHOOK_ALLOW_HTTP: booleanFromEnv('false'),
  /**
   * `host:port[,…]` exempt from the private-address refusal (development: the local receiver that
   * `npm start` runs). Exact entries: a host name is matched as written in the URL, not by address.
   */
  WEBHOOK_PRIVATE_ALLOWLIST: z.string().default('').transform((text, ctx): string[] => {
    try {
      return parseHostPortList(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `must be host:port[,host:port…]: ${(err as Error).message}` });
      return z.NEVER;
    }
  }),
  /** Endpoints per tenant (deleted ones do not count); one more is `409 resource_limit_reached`. */
  WEBHOOK_ENDPOINTS_MAX_PER_TENANT: intFromEnv(16, 1, 1_000),
};

/** The webhook address policy (domain/notifications/address-policy.ts) of a configuration. */
export function webhookAddressPolicyOf(
  config: { WEBHOOK_ALLOW_HTTP: boolean; WEBHOOK_PRIVATE_ALLOWLIST: readonly string[] },
): WebhookAddressPolicy {
  return { allowHttp: config.WEBHOOK_ALLOW_HTTP, privateAllowlist: config.WEBHOOK_PRIVATE_ALLOWLIST };
}

const boxes = new WeakMap<readonly SealingKey[], SecretBox>();

/** The process's SecretBox for `config` (one per key list). */
export function secretBoxOf(config: { SECRETS_ENCRYPTION_KEYS: readonly SealingKey[] }): SecretBox {
  let box = boxes.get(config.SECRETS_ENCRYPTION_KEYS);
  if (!box) boxes.set(config.SECRETS_ENCRYPTION_KEYS, (box = new SecretBox(config.SECRETS_ENCRYPTION_KEYS)));
  return box;
}
