import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../../platform/log.js';
import { startProcessorsServer, type ProcessorsServer } from '../../simulators/processors/server.js';
import { DEFAULT_SMS_CREDENTIALS } from '../../simulators/providers/app.js';
import { startProvidersServer, type ProvidersServer } from '../../simulators/providers/server.js';
import { serveApp, type ServedApp } from '../../simulators/serve.js';
import { startSmtpSink, type SmtpSink } from '../../simulators/smtp/server.js';
import { findPayment } from '../../store/payments/payments.js';
import { ADMIN_KEY, startHarness, type Harness } from '../../test/harness.js';
import { checkInvariants, committedTransfers, INVARIANTS, lostTransfers, type InvariantContext } from './invariants.js';
import {
  drain, isAccepted, prepareWorkload, recoveryAfter, SCENARIOS, startWorkload, summarize, type Fixture, type RequestRecord, type Workload,
} from './workload.js';

/**
 * The chaos workload and its invariants on the real stack (the API served over HTTP in process,
 * the workers of every domain on the run's Temporal server, PostgreSQL, Redis, simulators of this
 * file's own), without faults: the invariants hold. Then each check is shown to fail on the breach
 * it exists for.
 */

let h: Harness;
let processors: ProcessorsServer;
let providers: ProvidersServer;
let smtp: SmtpSink;
let api: ServedApp;
let fixture: Fixture;
let workload: Workload;
let context: InvariantContext;

beforeAll(async () => {
  [processors, providers, smtp] = await Promise.all([
    startProcessorsServer({ port: 0 }), startProvidersServer({ port: 0 }), startSmtpSink({ port: 0 }),
  ]);
  h = await startHarness({
    notifications: true,
    env: { PROCESSORS_URL: processors.url, SMTP_URL: smtp.url, PUSH_PROVIDER_URL: `${providers.url}/push`, SMS_PROVIDER_URL: `${providers.url}/sms` },
  });
  api = await serveApp(h.app, { hostname: '127.0.0.1', port: 0 });
  fixture = await prepareWorkload({ apiUrl: api.url, adminKey: ADMIN_KEY, apiKeys: 2, users: 4, employees: 4, leaveYears: 1, recipients: 4 });
});
afterAll(async () => {
  await workload?.stop({ graceMs: 0 });
  await api?.close();
  await h?.close();
  await Promise.all([processors?.close(), providers?.close(), smtp?.close()]);
});

describe('the chaos workload without faults', () => {
  it('runs a steady mix over HTTP, drains, and every invariant holds', async () => {
    const startedAtMs = Date.now();
    workload = startWorkload(fixture, { ratePerS: 10, seed: 15, retryForMs: 30_000, followUpWaitMs: 20_000 });
    await sleep(10_000);
    await workload.stop();
    const { records, stats } = workload;
    expect(stats.errors).toEqual([]);
    expect(stats.launched).toBeGreaterThanOrEqual(90);
    for (const scenario of SCENARIOS) expect(stats.byScenario[scenario], scenario).toBeGreaterThan(0);
    // No outage: every request answered at once, and only follow-ups meet refusals (none expected here either).
    expect(records.filter((r) => !isAccepted(r)).map((r) => `${r.kind} ${r.answer?.status} ${r.answer?.text}`)).toEqual([]);
    const kinds = summarize(records);
    for (const kind of ['payment.capture', 'payment.cancel', 'payment.refund', 'leave.approve', 'notification.create'] as const) {
      expect(kinds[kind]?.accepted, kind).toBeGreaterThan(0);
    }
    expect(recoveryAfter(records, startedAtMs)?.ms).toBeLessThan(5_000);

    expect(await drain(fixture, records, { timeoutMs: 30_000 })).toEqual([]);
    context = { fixture, records, pool: h.pool, temporal: h.temporal, processorsUrl: processors.url, providersUrl: providers.url, ledgerScope: 'tenant' };
    const results = await checkInvariants(context);
    expect(results.map((r) => r.name)).toEqual([...INVARIANTS]);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    if (process.env.CHAOS_DEBUG) console.log(results.map((r) => `${r.name}: ${r.detail}`).join('\n'), JSON.stringify(kinds, null, 1));
  });

  it('rides out an API outage: each request answered once the API is back, and the invariants hold', async () => {
    const own = await prepareWorkload({ apiUrl: api.url, adminKey: ADMIN_KEY, apiKeys: 2, users: 4, employees: 4, leaveYears: 1, recipients: 4 });
    const load = startWorkload(own, { ratePerS: 10, seed: 16, retryForMs: 30_000, followUpWaitMs: 20_000 });
    await sleep(2_000);
    // Connections cut mid-request (the app goes on in process, as an API behind a balancer that lost its
    // client would). A request cut while its body was on the way fails in the app, which logs it: kept here.
    const logs = captureLogs();
    await api.close();
    const downAtMs = Date.now();
    await sleep(3_000);
    api = await serveApp(h.app, { hostname: '127.0.0.1', port: api.port });
    await sleep(2_000);
    await load.stop();
    const errorLines = logs.lines().filter((line) => line.level === 'error' || line.level === 'fatal');
    logs.stop();
    expect(errorLines.filter((line) => !(line.msg === 'request failed' && /^(GET|POST)$/.test(String(line.method))))).toEqual([]);
    expect(load.stats.errors).toEqual([]);
    const retried = load.records.filter((r) => r.retry.attempts > 1);
    expect(retried.length).toBeGreaterThan(5);
    expect(retried.every((r) => r.answer !== null)).toBe(true);
    const rtoMs = await load.recoveredAfter(downAtMs, 'all', 0);
    expect(rtoMs).toBeGreaterThanOrEqual(2_900);
    expect(rtoMs).toBeLessThan(8_000);

    expect(await drain(own, load.records, { timeoutMs: 30_000 })).toEqual([]);
    const results = await checkInvariants({ ...context, fixture: own, records: load.records });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    if (process.env.CHAOS_DEBUG) console.log(`RTO ${rtoMs} ms; ${retried.length} retried`, results.map((r) => `${r.name}: ${r.detail}`).join('\n'), JSON.stringify(summarize(load.records)));
  });

  it('each check fails on the breach it exists for', async () => {
    expect(context, 'needs the first test').toBeDefined();
    const records = workload.records;
    const accepted = (kind: RequestRecord['kind'], where: (r: RequestRecord) => boolean = () => true) => {
      const found = records.find((r) => r.kind === kind && isAccepted(r) && where(r));
      if (!found) throw new Error(`no accepted ${kind} in the run`);
      return found;
    };
    const replaced = new Map<RequestRecord, RequestRecord>();

    // A replay that would not match: the first answer remembered differently.
    const notification = accepted('notification.create');
    replaced.set(notification, { ...notification, answer: { ...notification.answer!, text: `${notification.answer!.text} ` } });
    // A client told its approval was refused, while the request was approved.
    const decision = records.find((r) => r.kind === 'leave.approve' && isAccepted(r)) ?? accepted('leave.reject');
    const refusal = '{"error":{"type":"invalid_request_error","code":"leave_request_invalid_state","message":"x"}}';
    replaced.set(decision, { ...decision, answer: { ...decision.answer!, status: 409, text: refusal, body: JSON.parse(refusal) } });

    // A second refund at the processor, under a key the saga never sends.
    const captured = accepted('payment.create', (r) => r.scenario === 'payment_auto' && (r.answer!.body as { status: string }).status === 'captured');
    const payment = (await findPayment(h.pool, fixture.tenantId, captured.objectId!))!;
    const rogue = await fetch(`${processors.url}/processors/${payment.processor}/authorizations/${payment.processorReference}/refunds`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ idempotency_key: 'rogue-refund', amount: 1 }),
    });
    expect(rogue.status).toBe(200);
    // A second SMS to one of our recipients, which no delivery sent.
    const { accountSid, authToken } = DEFAULT_SMS_CREDENTIALS;
    const sms = await fetch(`${providers.url}/sms/2010-04-01/Accounts/${accountSid}/Messages.json`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ To: fixture.notifications.recipients[0]!.phone, From: '+15005550006', Body: 'again' }).toString(),
    });
    expect(sms.status).toBe(201);
    // A captured payment whose saga is gone: not final, and no run to finish it.
    await h.temporal.workflow.getHandle(`payment-${payment.id}`).terminate('chaos test');
    // A wallet credited with one minor unit less than the books say it holds.
    const tampered: Fixture = { ...fixture, users: fixture.users.map((u, i) => (i === 0 ? { ...u, fundedMinor: u.fundedMinor + 1 } : u)) };

    const results = await checkInvariants({ ...context, fixture: tampered, records: records.map((r) => replaced.get(r) ?? r) });
    const failed = Object.fromEntries(results.filter((r) => !r.ok).map((r) => [r.name, r.detail]));
    expect(Object.keys(failed).sort()).toEqual([
      'accepted_final_or_running', 'answers_truthful', 'idempotent_replays', 'money_conservation', 'notification_deliveries', 'processor_books',
    ]);
    expect(failed.idempotent_replays).toContain(notification.key);
    expect(failed.answers_truthful).toContain(`answered 409, yet it happened`);
    expect(failed.processor_books).toContain('rogue-refund');
    expect(failed.notification_deliveries).toContain('for no sent delivery');
    expect(failed.accepted_final_or_running).toContain(`payment-${payment.id} is TERMINATED`);
    expect(failed.money_conservation).toContain(fixture.users[0]!.id);

    // RPO: a committed transfer missing, or no longer what its client was told.
    const committed = committedTransfers(records);
    expect(await lostTransfers(h.pool, fixture.tenantId, committed)).toEqual([]);
    const succeeded = committed.find((c) => c.answeredStatus === 'succeeded')!;
    const lost = await lostTransfers(h.pool, fixture.tenantId, [
      { id: 'tr_00000000000000000000000000', answeredStatus: 'succeeded', answeredAtMs: 0 },
      { ...succeeded, answeredStatus: 'failed' },
    ]);
    expect(lost.map((l) => l.now)).toEqual([null, 'succeeded']);
  });
});
