import { z } from 'zod';
import { parseSealingKeys, SecretBox, type SealingKey } from './secrets.js';

/**
 * Security (issue #12): sealing keys for secrets at rest and the other security settings. Spread
 * into the one schema in platform/config.ts.
 */

/** The development key: `npm start` and tests only; production must set its own (checked at start). */
export const DEVELOPMENT_SEALING_KEYS = 'dev:c3RlYWRmYXN0LWRldmVsb3BtZW50LWtleS0zMmJ5dGU=';

export const securityEnv = {
  /** `kid:base64(32 bytes)[,kid2:…]`: the first seals, all open (platform/secrets.ts). */
  SECRETS_ENCRYPTION_KEYS: z.string().default(DEVELOPMENT_SEALING_KEYS).transform((text, ctx): SealingKey[] => {
    try {
      const keys = parseSealingKeys(text);
      if (keys.length === 0 || keys.some((k) => k.key.length !== 32)) throw new Error('each key must be 32 bytes');
      return keys;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `must be kid:base64(32 bytes)[,…]: ${(err as Error).message}` });
      return z.NEVER;
    }
  }),
};

const boxes = new WeakMap<readonly SealingKey[], SecretBox>();

/** The process's SecretBox for `config` (one per key list). */
export function secretBoxOf(config: { SECRETS_ENCRYPTION_KEYS: readonly SealingKey[] }): SecretBox {
  let box = boxes.get(config.SECRETS_ENCRYPTION_KEYS);
  if (!box) boxes.set(config.SECRETS_ENCRYPTION_KEYS, (box = new SecretBox(config.SECRETS_ENCRYPTION_KEYS)));
  return box;
}
