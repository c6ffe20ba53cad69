import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/harness.js';
import { ensureSystemAccount, insertAccount } from './accounts.js';
import { balanceAt, statementOf } from './history.js';
import { writeSyntheticHistory } from './synthetic-history.js';

/**
 * The balance before an instant is summed from the shorter side of the history (the entries before
 * it, or today's balance minus the entries after it): both sides must give what a plain sum of the
 * entries gives, at every instant of a year of history, and statements must chain.
 */

let h: Harness;
let accountId: string;
const DAY_MS = 86_400_000;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  const tenant = await h.newTenant();
  accountId = (await insertAccount(h.pool, { tenantId: tenant.id, type: 'user', currency: 'USD' })).id;
  const systemId = await ensureSystemAccount(h.pool, tenant.id, 'USD');
  await writeSyntheticHistory(h.pool, { tenantId: tenant.id, accountId, systemId, count: 2_000 });
});
afterAll(async () => {
  await h?.close();
});

const plainSum = async (at: Date) => Number((await h.pool.query(
  `SELECT coalesce(sum(CASE direction WHEN 'credit' THEN amount ELSE -amount END), 0) AS b FROM ledger_entries
   WHERE account_id = $1 AND created_at < $2::timestamptz + interval '1 millisecond'`, [accountId, at],
)).rows[0].b);

describe('history: the balance before an instant, from either side', () => {
  it('equals the plain sum of the entries at 40 instants across the year (both halves), before the first and after the last', async () => {
    const now = Date.now();
    const instants = [now - 400 * DAY_MS, ...Array.from({ length: 40 }, (_, i) => now - 365 * DAY_MS + i * 9.3 * DAY_MS), now + DAY_MS];
    const got = await Promise.all(instants.map((ms) => balanceAt(h.pool, accountId, new Date(ms))));
    const want = await Promise.all(instants.map((ms) => plainSum(new Date(ms))));
    expect(got).toEqual(want);
    expect(got[0]).toBe(0);
    expect(new Set(got).size).toBeGreaterThan(30);
  });

  it('consecutive statements chain: each closes where the next opens, and the year adds up', async () => {
    const start = new Date(Math.floor((Date.now() - 366 * DAY_MS) / DAY_MS) * DAY_MS);
    let opening = 0;
    let credits = 0;
    let debits = 0;
    for (let m = 0; m < 13; m++) {
      const from = new Date(start.getTime() + m * 30 * DAY_MS);
      const s = await statementOf(h.pool, accountId, from, new Date(from.getTime() + 30 * DAY_MS));
      expect(s.openingBalanceMinor, `month ${m}`).toBe(opening);
      expect(s.openingBalanceMinor + s.totalCreditsMinor - s.totalDebitsMinor).toBe(s.closingBalanceMinor);
      opening = s.closingBalanceMinor;
      credits += s.totalCreditsMinor;
      debits += s.totalDebitsMinor;
    }
    expect(credits - debits).toBe(opening);
    expect(opening).toBe(await plainSum(new Date(Date.now() + DAY_MS)));
  });
});
