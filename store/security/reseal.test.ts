import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../api/admin/tenants.js';
import { newId } from '../../domain/ids.js';
import { SecretBox } from '../../platform/secrets.js';
import { testConfig } from '../../test/harness.js';
import { createPool } from '../db.js';
import { createWebhookEndpoint, findEndpointToSend, rotateWebhookSecret } from '../notifications/webhook-endpoints.js';
import { findActorSigningSecret, insertActorSigningKey } from './actor-signing-keys.js';
import { resealSecrets } from './reseal.js';

let pool: pg.Pool;
beforeAll(() => {
  pool = createPool(testConfig().DATABASE_URL, 4);
});
afterAll(async () => {
  await pool?.end();
});

describe('rotating the sealing key (SECRETS_ENCRYPTION_KEYS)', () => {
  it('re-seals every stored secret with the new key, so the old key can be removed', async () => {
    const oldKey = { id: 'old', key: randomBytes(32) };
    const newKey = { id: 'new', key: randomBytes(32) };
    const before = new SecretBox([oldKey]);
    const tenantId = (await createTenant(pool, 'reseal')).id;
    const askId = newId('actorSigningKey');
    await insertActorSigningKey(pool, { id: askId, tenantId, secretSealed: before.seal('ask-secret') });
    const endpoint = await createWebhookEndpoint(pool, { tenantId, url: 'https://example.com/hook', events: ['*'], sealer: before, maxPerTenant: 16 });
    if (endpoint === 'limit_reached') throw new Error('limit');
    const rotated = await rotateWebhookSecret(pool, { tenantId, id: endpoint.id, graceMs: 3_600_000, sealer: before });

    // Step 1: the new key first, the old one still there. Step 2: re-seal. Step 3: drop the old key.
    const during = new SecretBox([newKey, oldKey]);
    const first = await resealSecrets(pool, during, { tenantId });
    expect(first.actorSigningKeys).toBeGreaterThanOrEqual(1);
    expect(first.webhookEndpoints).toBeGreaterThanOrEqual(1);
    const after = new SecretBox([newKey]);
    expect(after.open((await findActorSigningSecret(pool, tenantId, askId))!)).toBe('ask-secret');
    const toSend = (await findEndpointToSend(pool, tenantId, endpoint.id))!;
    expect(toSend.sealedSecrets.map((s) => after.open(s))).toEqual([rotated!.secret, endpoint.secret]);
    // Idempotent: nothing is stale any more.
    const again = await resealSecrets(pool, during, { tenantId });
    const { rows } = await pool.query(
      `SELECT (SELECT count(*) FROM actor_signing_keys WHERE tenant_id = $1 AND secret_sealed LIKE 'v1.old.%')::int
            + (SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $1 AND (secret_sealed LIKE 'v1.old.%' OR previous_secret_sealed LIKE 'v1.old.%'))::int AS stale`,
      [tenantId],
    );
    expect(rows[0].stale).toBe(0);
    expect(again).toBeDefined();
  });
});
