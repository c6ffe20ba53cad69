import type pg from 'pg';
import { resealWebhookSecrets } from '../notifications/webhook-endpoints.js';
import { resealActorSigningSecrets } from './actor-signing-keys.js';

/** What re-sealing needs of platform/secrets.ts `SecretBox`. */
export interface Resealer {
  isStale(sealed: string): boolean;
  seal(plaintext: string): string;
  open(sealed: string): string;
}

/**
 * A `SECRETS_ENCRYPTION_KEYS` rotation's middle step: every stored sealed secret (actor signing
 * secrets, webhook endpoint secrets) sealed with an older key is opened and sealed again with the
 * current (first) key, so the old key can then be removed. Idempotent; `npm run ops -- reseal-secrets`
 * (every tenant; `scope.tenantId` narrows it, as tests beside others do).
 */
export async function resealSecrets(pool: pg.Pool, box: Resealer, scope: { tenantId?: string } = {}): Promise<{ actorSigningKeys: number; webhookEndpoints: number }> {
  const reseal = (sealed: string) => (box.isStale(sealed) ? box.seal(box.open(sealed)) : null);
  return {
    actorSigningKeys: await resealActorSigningSecrets(pool, reseal, scope),
    webhookEndpoints: await resealWebhookSecrets(pool, reseal, scope),
  };
}
