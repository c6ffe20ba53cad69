import type { Channel } from '../../domain/notifications/types.js';
import type { Cache } from '../../platform/cache/index.js';
import type { Db } from '../../store/db.js';
import { getPreferences, type Preferences } from '../../store/notifications/preferences.js';

/**
 * A user's notification preferences as single notifications read them (the plan step and every
 * attempt's re-check): through the `notification_preferences` cache kind, invalidated on every
 * instance by each write (api/notifications/users.ts). Broadcasts do not come here: their page
 * statement reads preferences set-based, always fresh (store/notifications/broadcasts.ts).
 *
 * A miss reads on `db`, the caller's connection (inside the plan's transaction, so a plan never
 * waits for a second connection of the pool while it holds one). Without a cache (`cache`
 * undefined: tests of one step, benchmarks), every read is PostgreSQL's.
 *
 * @example const preferences = await readPreferences({ db: client, cache }, tenantId, userId);
 */
export async function readPreferences(
  deps: { db: Db; cache: Cache | undefined },
  tenantId: string,
  userId: string,
): Promise<Preferences> {
  const load = () => getPreferences(deps.db, tenantId, userId);
  if (!deps.cache) return load();
  // getPreferences answers the defaults for a user without a row: never null.
  return (await deps.cache.get({ kind: 'notification_preferences', tenantId, userId }, load))!;
}

/** Whether the user turned `channel` off (a critical notification ignores this). */
export function optedOut(preferences: Preferences, channel: Channel): boolean {
  return preferences[channel] === false;
}
