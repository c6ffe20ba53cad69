import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { providersControl } from '../../simulators/providers/client.js';
import { startProvidersServer } from '../../simulators/providers/server.js';
import { putContacts } from '../../store/notifications/contacts.js';
import { putPreferences } from '../../store/notifications/preferences.js';
import { eventually } from '../../test/eventually.js';
import { startHarness } from '../../test/harness.js';
import { completedAttempts, forgetStickyWorker, spawnWorkerProcess } from '../../test/worker-process.js';
import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';

const SUBSCRIBERS = 2_000;
const PAGE_SIZE = 100;
/** Every push call waits this long at the provider before it is handled: the window the kill lands in. */
const PROVIDER_DELAY_MS = 1_000;
/** After a page's commit is seen, the next page is this far into its provider call. */
const KILL_AFTER_COMMIT_MS = 300;
const TEMPLATE = { id: 'crash', channels: { in_app: { title: 'Hello', body: 'Hi {{name}}' }, push: { title: 'Hello', body: 'Hi {{name}}' } } };
const SETTINGS = { PUSH_BATCH_WINDOW: '20ms' };
/** A page takes about PROVIDER_DELAY_MS here; the killed one is retried once this has passed. */
const PAGE_TIMEOUT = '5s';

const userOf = (i: number) => `u${String(i).padStart(4, '0')}`;
/** Push off for every 10th; no push token for every 25th from the 7th (never the same user). */
const pushOff = (i: number) => i % 10 === 0;
const noToken = (i: number) => i % 25 === 7;

/**
 * Issue #20: the worker process is SIGKILLed in the middle of a broadcast to 2,000 subscribers
 * (in-app + push, pages of 100), after at least three pages were committed, while the next page's
 * push is at the provider (each push call waits 1 s there, so that is where the kill lands): the
 * provider takes that page's tokens, the page is never committed. Once the page's timeout passes
 * (BROADCAST_PAGE_TIMEOUT, short here) Temporal retries it, and a fresh worker finishes the
 * broadcast: every recipient has exactly one outcome per channel and one inbox message, each token
 * reached the provider once (the page's retry re-sent it under the same idempotency key), the
 * counts add up, and the broadcast is completed.
 */
describe('a broadcast whose worker dies mid-send', () => {
  it('reaches each of 2,000 subscribers exactly once per channel after a fresh worker takes over', async () => {
    const providers = await startProvidersServer({ port: 0 });
    const sim = providersControl(providers.url);
    const h = await startHarness({
      worker: false, notifications: true,
      env: { PUSH_PROVIDER_URL: `${providers.url}/push`, SMS_PROVIDER_URL: `${providers.url}/sms`, BROADCAST_PAGE_SIZE: String(PAGE_SIZE), BROADCAST_PAGE_TIMEOUT: PAGE_TIMEOUT, ...SETTINGS },
    });
    const doomed = spawnWorkerProcess(h, SETTINGS);
    try {
      const tenant = await h.newTenant();
      const { call } = tenant;
      expect((await call('POST', '/v1/notification-templates', { body: TEMPLATE })).status).toBe(201);
      expect((await call('POST', '/v1/topics', { body: { key: 'all', name: 'Everyone' } })).status).toBe(201);
      const users = Array.from({ length: SUBSCRIBERS }, (_, i) => userOf(i));
      for (let first = 0; first < SUBSCRIBERS; first += 1_000) {
        expect((await call('POST', '/v1/topics/all/subscribers', { body: { user_ids: users.slice(first, first + 1_000) } })).status).toBe(200);
      }
      // Straight through the store: 2,000 contact PUTs through the API would only make the test slow.
      for (let first = 0; first < SUBSCRIBERS; first += 50) {
        await Promise.all(users.slice(first, first + 50).map(async (user, k) => {
          const i = first + k;
          if (!noToken(i)) await putContacts(h.pool, tenant.id, user, { push_tokens: [`tok_${user}_${tenant.id}`] });
          if (pushOff(i)) await putPreferences(h.pool, tenant.id, user, { push: false });
        }));
      }
      const optedOut = users.filter((_, i) => pushOff(i)).length;
      const withoutToken = users.filter((_, i) => noToken(i)).length;
      const pushable = SUBSCRIBERS - optedOut - withoutToken;

      await sim.fault({ provider: 'push', mode: 'delay', ms: PROVIDER_DELAY_MS });
      await doomed.ready();
      const created = await call('POST', '/v1/broadcasts', { body: { topic_key: 'all', template_id: 'crash', data: { name: 'all' }, channels: ['in_app', 'push'] } });
      expect(created.status, JSON.stringify(created.body)).toBe(202);
      const id = created.body.id as string;
      const workflowId = workflowIdOf(workflowContracts.broadcast, id);
      const ours = async () => (await sim.messages('push')).messages.filter((m) => m.token.endsWith(`_${tenant.id}`));
      const pushSentRows = async () =>
        (await h.pool.query(`SELECT count(*)::int AS n FROM broadcast_deliveries WHERE broadcast_id = $1 AND channel = 'push' AND status = 'sent'`, [id])).rows[0].n as number;

      // Three pages committed (two outcomes per recipient), then into the next page's provider call.
      const committed = async () => {
        const { counts } = (await call('GET', `/v1/broadcasts/${id}`)).body as { counts: Record<string, number> };
        return Object.values(counts).reduce((s, n) => s + n, 0) / 2;
      };
      const atKill = await eventually(async () => {
        doomed.assertAlive();
        return committed();
      }, (n) => n >= 3 * PAGE_SIZE, { timeoutMs: 60_000, intervalMs: 25 });
      await sleep(KILL_AFTER_COMMIT_MS);
      await doomed.kill();
      expect(await committed()).toBe(atKill); // the kill landed inside the next page, before its commit
      expect(atKill).toBeLessThan(SUBSCRIBERS);

      // The provider still handles the dead worker's call once its delay is over: it took a page
      // whose outcomes were never committed.
      const pushedUncommitted = await eventually(async () => (await ours()).length - await pushSentRows(), (n) => n > 0, { timeoutMs: 3 * PROVIDER_DELAY_MS });
      expect(pushedUncommitted).toBeGreaterThan(0);
      await sim.clearFaults();

      // The page's start-to-close timeout (BROADCAST_PAGE_TIMEOUT, short here) passes: Temporal gives
      // up on the dead worker's attempt and retries the page on whichever worker polls.
      await forgetStickyWorker(h.temporal, workflowId);
      await h.startWorker();

      const done = await eventually(async () => (await call('GET', `/v1/broadcasts/${id}`)).body, (b) => b.status !== 'sending' && b.status !== 'queued', 90_000);
      expect(done).toMatchObject({
        status: 'completed', recipients: SUBSCRIBERS,
        counts: { sent: SUBSCRIBERS + pushable, failed: 0, skipped_opt_out: optedOut, skipped_no_contact: withoutToken },
      });
      // The killed page ran again after the kill (a later attempt completed it).
      expect((await completedAttempts(h.temporal, workflowId, 'sendBroadcastPage')).some((attempt) => attempt > 1)).toBe(true);

      const perChannel = await h.pool.query(
        `SELECT channel, count(*)::int AS n, count(DISTINCT user_id)::int AS users FROM broadcast_deliveries WHERE broadcast_id = $1 GROUP BY channel ORDER BY channel`, [id],
      );
      expect(perChannel.rows).toEqual([{ channel: 'in_app', n: SUBSCRIBERS, users: SUBSCRIBERS }, { channel: 'push', n: SUBSCRIBERS, users: SUBSCRIBERS }]);
      const inbox = await h.pool.query(`SELECT count(*)::int AS n, count(DISTINCT user_id)::int AS users FROM inbox_messages WHERE broadcast_id = $1`, [id]);
      expect(inbox.rows[0]).toEqual({ n: SUBSCRIBERS, users: SUBSCRIBERS });

      // Each token reached the provider as one message: the retried page's tokens came back under their key, not as new messages.
      const pushed = await ours();
      expect(pushed).toHaveLength(pushable);
      expect(new Set(pushed.map((m) => m.token)).size).toBe(pushable);
      expect(await pushSentRows()).toBe(pushable);
      expect(pushed.some((m) => m.attempts > 1)).toBe(true);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- worker process output ---\n${doomed.output()}`, { cause: err });
    } finally {
      await doomed.kill();
      await h.close();
      await providers.close();
    }
  }, 240_000);
});
