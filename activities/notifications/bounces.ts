import type { Channel } from '../../domain/notifications/types.js';
import type { Db } from '../../store/db.js';
import { findBounced, type BouncedAddress } from '../../store/notifications/contact-bounces.js';

/** The `last_error` of a delivery skipped (`skipped_no_contact`) because its address bounced before. */
export const ADDRESS_BOUNCED = 'address_bounced';

interface Reachable {
  email: string | null;
  phone: string | null;
  pushTokens: string[];
}

/**
 * A recipient without the addresses a provider reported as bounced (one query): a bounced e-mail
 * or number reads as none, bounced push tokens are left out. `bounced` names the channels that
 * lost their address that way, so planning can say why it skipped them.
 */
export async function dropBouncedContacts<R extends Reachable>(db: Db, tenantId: string, recipient: R): Promise<{ recipient: R; bounced: Set<Channel> }> {
  const candidates: BouncedAddress[] = [
    ...(recipient.email ? [{ channel: 'email' as const, address: recipient.email }] : []),
    ...(recipient.phone ? [{ channel: 'sms' as const, address: recipient.phone }] : []),
    ...recipient.pushTokens.map((token) => ({ channel: 'push' as const, address: token })),
  ];
  const found = await findBounced(db, tenantId, candidates);
  if (found.length === 0) return { recipient, bounced: new Set() };
  const has = (channel: Channel, address: string | null) => found.some((b) => b.channel === channel && b.address === address);
  const pushTokens = recipient.pushTokens.filter((token) => !has('push', token));
  const reachable: R = {
    ...recipient,
    email: has('email', recipient.email) ? null : recipient.email,
    phone: has('sms', recipient.phone) ? null : recipient.phone,
    pushTokens,
  };
  const bounced = new Set<Channel>(found.map((b) => b.channel));
  // Push is bounced only when no token is left: the others still reach the user.
  if (pushTokens.length > 0) bounced.delete('push');
  return { recipient: reachable, bounced };
}
