import { bouncedAddressKey, type ReceiptProvider } from '../../domain/notifications/receipts.js';
import type { Db } from '../db.js';

/**
 * The `contact_bounces` table (schema/0024): the addresses, numbers and push tokens a provider
 * reported as bounced, per tenant. Planning and broadcast pages treat them as no contact; a user
 * who changes to another address is reached again, the bounced one stays suppressed.
 */

export interface BouncedAddress {
  channel: ReceiptProvider;
  address: string;
}

/** Marks an address bounced; the first bounce is kept (a repeat changes nothing). True when newly marked. */
export async function recordBounce(
  db: Db,
  input: { tenantId: string; channel: ReceiptProvider; address: string; providerMessageId: string; errorCode: string | null },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO contact_bounces (tenant_id, channel, address, provider_message_id, error_code) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, channel, address) DO NOTHING`,
    [input.tenantId, input.channel, bouncedAddressKey(input.channel, input.address), input.providerMessageId, input.errorCode],
  );
  return rowCount === 1;
}

/** Which of `candidates` (a user's addresses, one query) are marked bounced in the tenant. */
export async function findBounced(db: Db, tenantId: string, candidates: readonly BouncedAddress[]): Promise<BouncedAddress[]> {
  if (candidates.length === 0) return [];
  const { rows } = await db.query(
    `SELECT b.channel, c.address FROM unnest($2::text[], $3::text[], $4::text[]) AS c (channel, address, key)
     JOIN contact_bounces b ON b.tenant_id = $1 AND b.channel = c.channel AND b.address = c.key`,
    [tenantId, candidates.map((c) => c.channel), candidates.map((c) => c.address), candidates.map((c) => bouncedAddressKey(c.channel, c.address))],
  );
  return rows.map((r) => ({ channel: r.channel as ReceiptProvider, address: r.address as string }));
}
