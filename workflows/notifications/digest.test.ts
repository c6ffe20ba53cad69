import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDigestActivities } from '../../activities/notifications/digest-activities.js';
import { createEmailSender } from '../../activities/notifications/channels/email.js';
import { newId } from '../../domain/ids.js';
import type { SmtpSink } from '../../simulators/smtp/server.js';
import { reconcileStarts } from '../../workers/start-reconciler.js';
import type { Call, Harness } from '../../test/harness.js';
import { eventually, settled, startNotificationStack, type Notification, type NotificationStack } from '../../test/notifications.js';

/**
 * E-mail digests (issue #20) against the real stack: a user with a 2 s window gets their normal
 * e-mails as ONE e-mail at the SMTP simulator, while critical and high-priority ones go at once.
 */

const WINDOW = '2s';
let stack: NotificationStack;
let h: Harness;
let smtp: SmtpSink;
let call: Call;
let tenantId: string;
let users = 0;

beforeAll(async () => {
  stack = await startNotificationStack({ DIGEST_WINDOW_MIN: '1s', DIGEST_MESSAGES_MAX: '3' });
  ({ h, smtp } = stack);
  ({ call, id: tenantId } = await h.newTenant('Digests'));
  const template = await call('POST', '/v1/notification-templates', {
    body: { id: 'news', channels: { email: { subject: 'News {{n}}', body: '<p>Story number {{n}}.</p>' }, in_app: { title: 'News', body: '{{n}}' } } },
  });
  expect(template.status).toBe(201);
});
afterAll(async () => {
  await stack?.close();
});

async function newUser(window: string | null): Promise<{ userId: string; address: string }> {
  const userId = `digest_user_${++users}_${Date.now()}`;
  const address = `${userId}@example.com`;
  expect((await call('PUT', `/v1/users/${userId}/contacts`, { body: { email: address } })).status).toBe(200);
  const prefs = await call('PUT', `/v1/users/${userId}/notification-preferences`, { body: { digest: window === null ? null : { email: window } } });
  expect(prefs.status, JSON.stringify(prefs.body)).toBe(200);
  return { userId, address };
}

async function send(userId: string, n: number, extra: Record<string, unknown> = {}): Promise<Notification> {
  const res = await call('POST', '/v1/notifications', {
    body: { user_id: userId, template_id: 'news', data: { n }, channels: ['email'], priority: 'normal', ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body as Notification;
}

const mailsTo = (address: string) => smtp.messages().filter((m) => m.envelope.to.includes(address));
const emailOf = (n: Notification) => n.deliveries.find((d) => d.channel === 'email')! as Notification['deliveries'][number] & { provider_message_id: string | null };

describe('e-mail digests', () => {
  it('merges three normal e-mails of a window into ONE, while critical and high-priority ones go at once', async () => {
    const { userId, address } = await newUser(WINDOW);
    const normal = [await send(userId, 1), await send(userId, 2), await send(userId, 3)];
    const critical = await send(userId, 4, { critical: true });
    const high = await send(userId, 5, { priority: 'high' });

    // The normal ones wait in the digest: held, nothing sent for them yet.
    for (const n of normal) {
      const held = await eventually(async () => (await call('GET', `/v1/notifications/${n.id}`)).body as Notification,
        (x) => emailOf(x).status === 'held');
      expect(emailOf(held).status).toBe('held');
    }
    // Critical and high are sent on their own, before the window ends.
    for (const n of [critical, high]) expect(emailOf(await settled(call, n.id)).status).toBe('sent');
    const early = mailsTo(address);
    expect(early.map((m) => m.subject).sort()).toEqual(['News 4', 'News 5']);
    const { rows: alone } = await h.pool.query(
      `SELECT digest_id, provider_message_id FROM deliveries WHERE notification_id = ANY($1) AND channel = 'email'`, [[critical.id, high.id]]);
    expect(alone.map((d) => d.digest_id)).toEqual([null, null]);

    // At the window's end: ONE e-mail with all three, and every held delivery `sent` with its message id.
    const done = await Promise.all(normal.map((n) => settled(call, n.id, 30_000)));
    const digests = mailsTo(address).filter((m) => !['News 4', 'News 5'].includes(m.subject ?? ''));
    expect(digests).toHaveLength(1);
    const [digest] = digests;
    expect(digest!.subject).toBe('Your 3 notifications');
    for (const i of [1, 2, 3]) {
      expect(digest!.html).toContain(`Story number ${i}.`);
      expect(digest!.text).toContain(`News ${i}`);
    }
    const { rows: [row] } = await h.pool.query(
      `SELECT id, status, messages, provider_message_id FROM notification_digests WHERE tenant_id = $1 AND user_id = $2`, [tenantId, userId]);
    expect(row).toMatchObject({ status: 'sent', messages: 3 });
    expect(digest!.messageId).toBe(`<digest-${row.id as string}:send@steadfast>`);
    for (const n of done) expect(emailOf(n)).toMatchObject({ status: 'sent', provider_message_id: digest!.messageId });
    const run = await h.temporal.workflow.getHandle(`digest-${row.id as string}`).result();
    expect(run).toEqual({ status: 'sent', messages: 3 });

    // A retried send activity sends nothing twice: the digest is ended, no second e-mail goes.
    const email = createEmailSender({ smtpUrl: smtp.url, from: 'x@steadfast.local', timeoutMs: 2_000 });
    try {
      const again = await createDigestActivities({ pool: h.pool, email })
        .sendDigest({ tenantId, digestId: row.id as string, idempotencyKey: `digest-${row.id as string}:send` });
      expect(again).toEqual({ status: 'sent', messages: 3 });
    } finally {
      email.close();
    }
    expect(mailsTo(address)).toHaveLength(3);

    // The next e-mail opens the next window (a new digest, a new run).
    const later = await send(userId, 6);
    expect(emailOf(await settled(call, later.id, 30_000)).status).toBe('sent');
    expect(mailsTo(address).map((m) => m.subject)).toContain('Your 1 notifications');
  });

  it('an SMTP failure of the digest is retried with the same Message-ID, and the held e-mails end sent once', async () => {
    const { userId, address } = await newUser(WINDOW);
    const held = [await send(userId, 7), await send(userId, 8)];
    for (const n of held) {
      await eventually(async () => (await call('GET', `/v1/notifications/${n.id}`)).body as Notification, (x) => emailOf(x).status === 'held');
    }
    smtp.failNext(1, 451);
    const done = await Promise.all(held.map((n) => settled(call, n.id, 30_000)));
    for (const n of done) expect(emailOf(n).status).toBe('sent');
    const mails = mailsTo(address);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('Your 2 notifications');
    // The refused first send was retried by Temporal (attempt 2), with the same Message-ID.
    const { rows: [row] } = await h.pool.query(`SELECT id FROM notification_digests WHERE tenant_id = $1 AND user_id = $2`, [tenantId, userId]);
    expect(mails[0]!.messageId).toBe(`<digest-${row.id as string}:send@steadfast>`);
    const history = await h.temporal.workflow.getHandle(`digest-${row.id as string}`).fetchHistory();
    const attempts = (history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt).filter((a) => a != null);
    expect(attempts).toEqual([2]);
  });

  it('a digest holds at most DIGEST_MESSAGES_MAX e-mails: the next one goes at once', async () => {
    const { userId, address } = await newUser('3s');
    const sent = await Promise.all([10, 11, 12, 13].map((n) => send(userId, n)));
    const done = await Promise.all(sent.map((n) => settled(call, n.id, 30_000)));
    const { rows } = await h.pool.query(
      `SELECT count(*) FILTER (WHERE digest_id IS NOT NULL)::int AS digested, count(*)::int AS all FROM deliveries WHERE notification_id = ANY($1)`,
      [done.map((n) => n.id)],
    );
    expect(rows[0]).toEqual({ digested: 3, all: 4 });
    const subjects = mailsTo(address).map((m) => m.subject);
    expect(subjects).toHaveLength(2);
    expect(subjects).toContain('Your 3 notifications');
  });

  it('without a digest preference, or after it is cleared, every e-mail goes at once', async () => {
    const { userId, address } = await newUser(null);
    expect(emailOf(await settled(call, (await send(userId, 9)).id)).status).toBe('sent');
    expect(mailsTo(address).map((m) => m.subject)).toEqual(['News 9']);
    const prefs = await call('GET', `/v1/users/${userId}/notification-preferences`);
    expect(prefs.body.digest).toBeNull();
  });

  it('the start reconciler starts the run of an open digest a crash left without one', async () => {
    const digestId = newId('digest');
    await h.pool.query(
      `INSERT INTO notification_digests (id, tenant_id, user_id, window_start, window_end, created_at)
       VALUES ($1, $2, 'crashed_user', now() - interval '1 minute', now() + interval '1 second', now() - interval '1 minute')`,
      [digestId, tenantId],
    );
    const report = await reconcileStarts({ pool: h.pool, temporal: h.temporal, config: h.config, tenantIds: [tenantId], afterMs: 0 });
    expect(report.digest).toMatchObject({ started: 1, failed: 0 });
    // Nothing was held in it: it ends skipped, and sends nothing.
    expect(await h.temporal.workflow.getHandle(`digest-${digestId}`).result()).toEqual({ status: 'skipped', messages: 0 });
    const again = await reconcileStarts({ pool: h.pool, temporal: h.temporal, config: h.config, tenantIds: [tenantId], afterMs: 0 });
    expect(again.digest).toMatchObject({ started: 0, unstarted: 0 });
  });

  it('refuses windows outside the configured bounds', async () => {
    for (const window of ['0s', '25h', '90', '1d']) {
      const res = await call('PUT', '/v1/users/bounds/notification-preferences', { body: { digest: { email: window } } });
      expect(res.status, window).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'parameter_invalid' });
    }
    const ok = await call('PUT', '/v1/users/bounds/notification-preferences', { body: { digest: { email: '1h' } } });
    expect(ok.body.digest).toEqual({ email: '1h' });
    const cleared = await call('PUT', '/v1/users/bounds/notification-preferences', { body: { digest: { email: null } } });
    expect(cleared.body.digest).toBeNull();
  });
});
