import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils.js';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startWorkflow } from '../api/workflow-start.js';
import { appendOutboxEvent } from '../store/outbox/outbox.js';
import { withTransaction } from '../store/db.js';
import { insertTopUp } from '../store/wallet/topups.js';
import { insertTransfer } from '../store/wallet/transfers.js';
import { eventWorkflowSettings } from '../platform/notification-settings.js';
import { providersControl } from '../simulators/providers/client.js';
import { startProvidersServer, type ProvidersServer } from '../simulators/providers/server.js';
import { startSmtpSink, type SmtpSink } from '../simulators/smtp/server.js';
import { actorHeaders, balanceOf, createAccount, startHarness, type Call, type Harness } from '../test/harness.js';
import { eventually, settled } from '../test/notifications.js';
import { createPayrollRun, hirePayrollEmployee, linkWallet, payrollAction, payrollCompany } from '../test/payroll-fixture.js';
import { workflowContracts } from './contracts.js';
import type { settlementRun } from './payments/settlement.js';
import { BusinessStatus } from './search-attributes.js';
import { dataConverterOf, payloadCodecOf } from '../platform/payload-codec.js';
import { RELEASE } from '../platform/release.js';
import { workflowSpanSinks } from '../platform/telemetry/temporal.js';

/**
 * Determinism: the recorded histories of every workflow are kept per release, in
 * `workflows/histories/<release>/<scenario>.json`, and every history of every kept release
 * replays with the current code (runs started by an older release may still be open when the new
 * one takes over); a deliberate non-deterministic change to a copy of a workflow makes them fail;
 * and fresh runs of every scenario replay too. The current release (package.json's version,
 * platform/release.ts) must have a history of every scenario: `npm run record:histories`
 * (RECORD_HISTORIES=1) saves the fresh histories of the scenarios that have none yet in
 * `workflows/histories/<current release>/`; RECORD_HISTORIES=all rewrites every fixture of the
 * current release (older releases' folders are never written). Drop a release's folder once no
 * run it started can still be open.
 */

const HISTORIES = fileURLToPath(new URL('./histories/', import.meta.url));
const releaseDir = (release: string) => `${HISTORIES}${release}/`;

/** Orders x.y.z[-pre] releases as semver does: numerically part by part, a pre-release before its release. */
function compareReleases(a: string, b: string): number {
  const split = (release: string) => {
    const dash = release.indexOf('-');
    return dash < 0 ? { core: release, pre: undefined } : { core: release.slice(0, dash), pre: release.slice(dash + 1) };
  };
  const [x, y] = [split(a), split(b)];
  const [xs, ys] = [x.core.split('.').map(Number), y.core.split('.').map(Number)];
  for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
    const by = (xs[i] ?? 0) - (ys[i] ?? 0);
    if (by) return by;
  }
  if (x.pre === y.pre) return a.localeCompare(b);
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre.localeCompare(y.pre, 'en', { numeric: true });
}

/** The kept releases: the folders of workflows/histories/, oldest first. */
const RELEASES = existsSync(HISTORIES)
  ? readdirSync(HISTORIES, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort(compareReleases)
  : [];
const EventType = temporal.api.enums.v1.EventType;

/**
 * Where a run must have got to for its history to count: its result, or for a run that stays
 * open (a captured payment waits for refunds) its business status. Read from the history itself,
 * so a recorded fixture is held to it as much as a fresh run.
 */
type Outcome = { result: unknown } | { running: unknown } | { closed: string };

const ANY_ID = expect.any(String);
const EXPECTED = {
  'p2pTransfer-succeeded': { result: { status: 'succeeded', transactionId: ANY_ID } },
  'p2pTransfer-insufficient_funds': { result: { status: 'failed', failureCode: 'insufficient_funds' } },
  // The hold was placed, the post refused (an account of another currency): the hold is voided.
  'p2pTransfer-compensated': { result: { status: 'failed', failureCode: 'account_unavailable' } },
  // Since 0.3.0 (patch `risk-scoring`): scored first; blocked, or held for a review a person decides.
  'p2pTransfer-risk_blocked': { result: { status: 'failed', failureCode: 'risk_blocked' } },
  'p2pTransfer-review_approved': { result: { status: 'succeeded', transactionId: ANY_ID } },
  'topUp-flaky': { result: { status: 'succeeded', transactionId: ANY_ID } },
  'topUp-declined': { result: { status: 'failed', failureCode: 'bank_declined' } },
  // The pull succeeded, the credit was refused (an account of another currency): the pull is refunded.
  'topUp-compensated': { result: { status: 'failed', failureCode: 'account_unavailable' } },
  'paymentSaga-captured': { running: 'captured' },
  'paymentSaga-declined': { result: { status: 'failed', failureCode: 'card_declined' } },
  'paymentSaga-capture_fails': { result: { status: 'reversed', failureCode: 'capture_failed' } },
  'paymentSaga-manual_refunded': { result: { status: 'refunded', failureCode: null } },
  'paymentSaga-authorization_expired': { result: { status: 'reversed', failureCode: 'authorization_expired' } },
  'paymentSaga-risk_blocked': { result: { status: 'failed', failureCode: 'risk_blocked' } },
  'paymentSaga-review_declined': { result: { status: 'failed', failureCode: 'risk_declined' } },
  'settlementRun-nothing_due': {
    result: { windowStart: '1975-01-01T00:00:00.000Z', windowEnd: '1975-01-01T01:00:00.000Z', batchId: ANY_ID, settledCount: 0, totals: {} },
  },
  'leaveApproval-approved': { result: { status: 'approved' } },
  'leaveApproval-rejected': { result: { status: 'rejected' } },
  'leaveApproval-auto_approved': { result: { status: 'approved' } },
  'leaveApproval-escalated_approved': { result: { status: 'approved' } },
  'leaveApproval-escalated_expired': { result: { status: 'expired' } },
  // Since 0.3.0: a last day in the past, a report whose pending request moves up, the leaver's own pending request cancelled.
  'offboarding-terminated': { result: { status: 'terminated', reportsMoved: 1, requestsMoved: 1, leaveCancelled: 1 } },
  // Since 0.3.0: paid; a line without a wallet failed alone, then paid by retry-failed; cancelled; the net not held.
  'payrollRun-paid': { result: { status: 'paid' } },
  'payrollRun-retried_paid': { result: { status: 'paid' } },
  'payrollRun-cancelled': { result: { status: 'cancelled' } },
  'payrollRun-insufficient_funds': { result: { status: 'failed' } },
  // Since issue #21: a review cycle of three whose due dates have passed (overdue reviews escalate at once), then closed;
  // and one closed before its first timer fired.
  'reviewCycle-escalated_closed': { result: { status: 'closed', reviewsCount: 3 } },
  'reviewCycle-closed_early': { result: { status: 'closed', reviewsCount: 3 } },
  // Since issue #21: offers approved and accepted (the hire), declined, rejected by the approver, approved and expired;
  // an interview reminded after its timer, then given feedback.
  'offer-accepted': { result: { status: 'accepted', employeeId: ANY_ID } },
  'offer-declined': { result: { status: 'declined', employeeId: null } },
  'offer-rejected': { result: { status: 'rejected', employeeId: null } },
  'offer-expired': { result: { status: 'expired', employeeId: null } },
  'interviewReminder-reminded': { result: { reminded: true, feedbackGiven: true } },
  // Since 0.3.0: a broadcast to a topic of three, in pages.
  'broadcast-completed': { result: { status: 'completed' } },
  // Since 0.3.0 (issue #20): two normal e-mails of a user with a 3 s digest window, sent as one.
  'digest-sent': { result: { status: 'sent', messages: 2 } },
  'notification-sent': { result: { status: 'completed' } },
  'notification-cancelled': { result: { status: 'cancelled' } },
  'notification-scheduled_sent': { result: { status: 'completed' } },
  'notification-deferred_cancelled': { result: { status: 'cancelled' } },
  'domainEvent-webhook': { result: { notifications: 0, webhooks: 1 } },
  'deadLetterRetry-sent': { result: { status: 'sent' } },
} satisfies Record<string, Outcome>;
type Scenario = keyof typeof EXPECTED;
const SCENARIOS = Object.keys(EXPECTED) as Scenario[];

const CLOSED = new Set<number>([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

function outcomeOf(history: History): Outcome {
  const events = history.events ?? [];
  const last = events.at(-1);
  const completed = last?.workflowExecutionCompletedEventAttributes;
  // Histories recorded since issue #13 hold encrypted payloads (older ones pass through decode unchanged).
  if (completed) return { result: defaultPayloadConverter.fromPayload(payloadCodecOf(h.config).decodePayload(completed.result!.payloads![0]!)) };
  if (last?.eventType != null && CLOSED.has(last.eventType)) return { closed: EventType[last.eventType] };
  const statuses = events.flatMap((e) => {
    const status = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.BusinessStatus;
    return status ? [defaultPayloadConverter.fromPayload(status)] : [];
  });
  return { running: statuses.at(-1) ?? null };
}

/** The types of a history's last events, to say where a run stopped. */
function lastEvents(history: History, count = 6): string {
  return (history.events ?? []).slice(-count).map((e) => EventType[e.eventType ?? 0]?.replace(/^EVENT_TYPE_/, '') ?? '?').join(' → ');
}

/** The scenarios a release has a recorded history of. */
const fixturesOf = (release: string): string[] =>
  readdirSync(releaseDir(release)).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
const fixture = (release: string, scenario: string): History =>
  historyFromJSON(JSON.parse(readFileSync(`${releaseDir(release)}${scenario}.json`, 'utf8')));

/** Replays the histories with one replay worker; the error of each (undefined: it replayed). */
async function replay(bundle: WorkflowBundleOption, histories: { workflowId: string; history: History }[]) {
  const errors: Record<string, Error | undefined> = {};
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, dataConverter: dataConverterOf(h.config), sinks: workflowSpanSinks(undefined) }, histories)) errors[result.workflowId] = result.error;
  expect(Object.keys(errors).sort()).toEqual(histories.map((h) => h.workflowId).sort());
  return errors;
}
const currentCode = (): WorkflowBundleOption => ({ codePath: inject('workflowBundlePath') });
const messages = (errors: Record<string, Error | undefined>) =>
  Object.fromEntries(Object.entries(errors).map(([id, error]) => [id, error ? `${error.name}: ${error.message}` : 'replayed']));

// ── The deliberate break ────────────────────────────────────────────────────────────────────

const TRANSFER_SOURCE = fileURLToPath(new URL('./wallet/p2p-transfer.ts', import.meta.url));
/** Where the transfer's steps begin: after its set-up (the `local-steps` patch, the proxies), before the hold. */
const TRANSFER_BODY = /^  const compensations = new Compensations\(\);\n/m;
/** The careless edit: a new activity call before the transfer's first step (histories have none). */
const BREAK = "  await replayBreakActivities({ startToCloseTimeout: '5s' }).checkTransferAllowed();\n";

/**
 * The p2pTransfer workflow as it is today, with one step added, bundled on its own under the same
 * workflow type. The copy lives in .data/ (ignored) with its relative imports made absolute, so it
 * builds against the real helpers, activity options and types.
 */
async function bundleBrokenTransfer(): Promise<{ original: string; broken: string; code: string }> {
  const original = readFileSync(TRANSFER_SOURCE, 'utf8');
  const broken = [
    "import { proxyActivities as replayBreakActivities } from '@temporalio/workflow';",
    original
      .replace(/from '(\.\.?\/[^']+)'/g, (_, path: string) => `from '${resolve(dirname(TRANSFER_SOURCE), path)}'`)
      .replace(TRANSFER_BODY, (head) => head + BREAK),
  ].join('\n');
  const dir = resolve(fileURLToPath(new URL('../.data/test/', import.meta.url)), `replay-break-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(resolve(dir, 'p2p-transfer.ts'), broken);
    const { code } = await bundleWorkflowCode({ workflowsPath: resolve(dir, 'p2p-transfer.ts'), logger: new DefaultLogger('ERROR') });
    return { original, broken, code };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bundled once for the file, and started early: webpack runs while the fresh scenarios wait on timers. */
let brokenTransfer: ReturnType<typeof bundleBrokenTransfer> | undefined;
function brokenTransferBundle(): ReturnType<typeof bundleBrokenTransfer> {
  if (!brokenTransfer) {
    brokenTransfer = bundleBrokenTransfer();
    brokenTransfer.catch(() => undefined); // awaited (and reported) by the test that uses it
  }
  return brokenTransfer;
}

// ── The scenarios ───────────────────────────────────────────────────────────────────────────

let h: Harness;
/** The same workers (task queues), an API with a 1 s escalation (expiry as configured: days). */
let escalating: Harness;
/** The same workers, an API with a 1 s escalation, a 2 s expiry and a 1 s AUTHORIZATION_TTL. */
let expiring: Harness;
let providers: ProvidersServer;
let smtp: SmtpSink;
beforeAll(async () => {
  providers = await startProvidersServer({ port: 0 });
  smtp = await startSmtpSink({ port: 0 });
  h = await startHarness({
    notifications: true,
    env: {
      API_WAIT_WINDOW_MS: '30000', PUSH_PROVIDER_URL: `${providers.url}/push`, SMS_PROVIDER_URL: `${providers.url}/sms`,
      SMTP_URL: smtp.url, DIGEST_WINDOW_MIN: '1s',
    },
  });
  const sameWorkers = {
    TASK_QUEUE_WALLET: h.config.TASK_QUEUE_WALLET, TASK_QUEUE_PAYMENTS: h.config.TASK_QUEUE_PAYMENTS,
    TASK_QUEUE_HR: h.config.TASK_QUEUE_HR, TASK_QUEUE_NOTIFICATIONS: h.config.TASK_QUEUE_NOTIFICATIONS, API_WAIT_WINDOW_MS: '30000',
  };
  [escalating, expiring] = await Promise.all([
    startHarness({ worker: false, env: { ...sameWorkers, LEAVE_ESCALATION_AFTER: '1s' } }),
    startHarness({ worker: false, env: { ...sameWorkers, LEAVE_ESCALATION_AFTER: '1s', LEAVE_EXPIRY_AFTER: '2s', AUTHORIZATION_TTL: '1s' } }),
  ]);
});
afterAll(async () => {
  await brokenTransfer?.catch(() => undefined); // its copy is removed when it ends
  await escalating?.close();
  await expiring?.close();
  await h?.close();
  await providers?.close();
  await smtp?.close();
});

type Tenant = { id: string; apiKey: string; call: Call };
type Ids = Partial<Record<Scenario, string>>;

/** Runs every scenario through the API (a few by their contract) and returns their workflow ids. */
async function runScenarios(): Promise<Ids> {
  const tenant = await h.newTenant();
  const groups = await Promise.all([
    walletScenarios(tenant), paymentScenarios(tenant), leaveScenarios(tenant), notificationScenarios(tenant), settlementScenario(),
    riskScenarios(await h.newTenant()), offboardingScenario(await h.newTenant()), payrollScenarios(await h.newTenant()),
    broadcastScenario(await h.newTenant()), digestScenario(await h.newTenant()), reviewCycleScenarios(await h.newTenant()),
    recruitmentScenarios(await h.newTenant()),
  ]);
  return Object.assign({}, ...groups) as Ids;
}

/** Transfers and top-ups; the compensations are forced with an account of another currency. */
async function walletScenarios(tenant: Tenant): Promise<Ids> {
  const { id: tenantId, call } = tenant;
  const from = await createAccount(call, { fundMinor: 1_000 });
  const to = await createAccount(call);
  const euros = await createAccount(call, { currency: 'EUR' });
  const transfer = async (amount: number) =>
    `transfer-${(await call('POST', '/v1/transfers', { body: { from_account_id: from, to_account_id: to, amount, currency: 'USD' } })).body.id}`;
  const topUp = async (token: string) =>
    `topup-${(await call('POST', '/v1/topups', { body: { account_id: to, amount: 100, currency: 'USD', source: { type: 'bank_account', token } } })).body.id}`;
  const ids: Ids = {
    'p2pTransfer-succeeded': await transfer(600),
    'p2pTransfer-insufficient_funds': await transfer(600),
    'topUp-flaky': await topUp('btok_flaky'),
    'topUp-declined': await topUp('btok_insufficient_funds'),
  };
  // The API refuses such requests up front; the workflows get them directly, as a stale or bad
  // input would reach them, and their second step fails after the first took effect.
  const deps = { temporal: h.temporal, config: h.config };
  const nothingToUndo = async () => undefined;
  const transferId = await insertTransfer(h.pool, { tenantId, fromAccountId: from, toAccountId: euros, amountMinor: 100, currency: 'USD', description: null });
  const { handle: compensatedTransfer } = await startWorkflow(deps, workflowContracts.p2pTransfer, {
    key: transferId, tenantId, undoIfNotStarted: nothingToUndo,
    input: { tenantId, transferId, fromAccountId: from, toAccountId: euros, amountMinor: 100, currency: 'USD' },
  });
  const source = { type: 'bank_account' as const, token: 'btok_success' };
  const topupId = await insertTopUp(h.pool, { tenantId, accountId: euros, amountMinor: 100, currency: 'USD', source });
  const { handle: compensatedTopUp } = await startWorkflow(deps, workflowContracts.topUp, {
    key: topupId, tenantId, undoIfNotStarted: nothingToUndo,
    input: { tenantId, topupId, accountId: euros, amountMinor: 100, currency: 'USD', source },
  });
  await Promise.allSettled([compensatedTransfer.result(), compensatedTopUp.result()]);
  // The compensations took effect: the hold is released, the pull refunded.
  expect(await balanceOf(call, from)).toEqual({ balance: 400, available: 400 });
  const { rows: pulls } = await h.pool.query('SELECT status FROM sim_bank_pulls WHERE idempotency_key = $1', [`${compensatedTopUp.workflowId}:pull`]);
  expect(pulls).toEqual([{ status: 'refunded' }]);
  return { ...ids, 'p2pTransfer-compensated': compensatedTransfer.workflowId, 'topUp-compensated': compensatedTopUp.workflowId };
}

async function paymentScenarios(tenant: Tenant): Promise<Ids> {
  const merchant = await createAccount(tenant.call, { type: 'merchant' });
  const pay = async (token: string, captureMethod = 'automatic', call = tenant.call) => (await call('POST', '/v1/payments', {
    body: { amount: 500, currency: 'USD', merchant_account_id: merchant, capture_method: captureMethod, payment_method: { type: 'card', token } },
  })).body.id as string;
  const refunded = async () => {
    const id = await pay('tok_visa', 'manual');
    await tenant.call('POST', `/v1/payments/${id}/capture`, { body: { amount: 400 } });
    await tenant.call('POST', `/v1/payments/${id}/refunds`, { body: {} });
    return id;
  };
  // Authorized, never captured: voided after the 1 s AUTHORIZATION_TTL of that API.
  const [expired, manual] = await Promise.all([pay('tok_visa', 'manual', expiring.as(tenant.apiKey)), refunded()]);
  return {
    'paymentSaga-captured': `payment-${await pay('tok_visa')}`,
    'paymentSaga-declined': `payment-${await pay('tok_card_declined')}`,
    'paymentSaga-capture_fails': `payment-${await pay('tok_capture_fails')}`,
    'paymentSaga-manual_refunded': `payment-${manual}`,
    'paymentSaga-authorization_expired': `payment-${expired}`,
  };
}

/**
 * Risk (contract §8), in a tenant of their own (its settings): a transfer to a blocklisted payee
 * and a payment with a blocklisted card; a first transfer and a first payment to a payee sent to
 * review (its rule scored 70), the transfer approved by a person, the payment declined.
 */
async function riskScenarios(tenant: Tenant): Promise<Ids> {
  const { call } = tenant;
  const from = await createAccount(call, { fundMinor: 1_000 });
  const [blockedPayee, reviewedPayee] = [await createAccount(call), await createAccount(call)];
  const merchant = await createAccount(call, { type: 'merchant' });
  await call('POST', '/v1/risk/blocklist', { body: { type: 'account', value: blockedPayee } });
  await call('POST', '/v1/risk/blocklist', { body: { type: 'card_token', value: 'tok_mastercard' } });
  await call('PUT', '/v1/risk/settings', { body: { rules: { new_counterparty: { enabled: true, score: 70 } } } });
  const transfer = async (to: string) =>
    (await call('POST', '/v1/transfers', { body: { from_account_id: from, to_account_id: to, amount: 100, currency: 'USD' } })).body.id as string;
  const pay = async (token: string) => (await call('POST', '/v1/payments', {
    body: { amount: 500, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token } },
  })).body.id as string;
  const decide = async (objectId: string, verb: 'approve' | 'decline') => {
    const review = await eventually(async () => (await call('GET', '/v1/risk/reviews?status=open&limit=100')).body.data
      .find((r: { object_id: string }) => r.object_id === objectId) as { id: string } | undefined, (r) => r !== undefined);
    await call('POST', `/v1/risk/reviews/${review!.id}/${verb}`, { body: {}, headers: await actorHeaders(tenant, 'user_replay') });
  };
  const blocked = await transfer(blockedPayee);
  const reviewed = await transfer(reviewedPayee);
  await decide(reviewed, 'approve');
  const blockedPayment = await pay('tok_mastercard');
  const reviewedPayment = await pay('tok_visa');
  await decide(reviewedPayment, 'decline');
  return {
    'p2pTransfer-risk_blocked': `transfer-${blocked}`,
    'p2pTransfer-review_approved': `transfer-${reviewed}`,
    'paymentSaga-risk_blocked': `payment-${blockedPayment}`,
    'paymentSaga-review_declined': `payment-${reviewedPayment}`,
  };
}

/**
 * Leave requests that reach a final state: approved, rejected, approved at once (no manager),
 * escalated to the approver's manager who approves, and escalated and then expired. All in the
 * past: an approved leave's run ends at once (nothing left to cancel).
 */
async function leaveScenarios(tenant: Tenant): Promise<Ids> {
  const { call } = tenant;
  await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave' } });
  let n = 0;
  const employee = async (managerId?: string) => {
    const id = (await call('POST', '/v1/employees', {
      body: { employee_number: `R${++n}`, first_name: 'R', last_name: `P${n}`, email: `r${n}@example.com`, department: 'Ops', hire_date: '2020-01-01', ...(managerId ? { manager_id: managerId } : {}) },
    })).body.id as string;
    await call('POST', `/v1/employees/${id}/leave-allocations`, { body: { leave_type: 'annual', year: 2020, days: 10 } });
    return id;
  };
  const boss = await employee();
  const worker = await employee(boss);
  const junior = await employee(worker);
  const request = async (employeeId: string, start: string, end: string, via = call) => (await via('POST', '/v1/leave-requests', {
    body: { employee_id: employeeId, leave_type: 'annual', start_date: start, end_date: end },
  })).body.id as string;
  const history = async (id: string) => (await call('GET', `/v1/leave-requests/${id}`)).body.history as Record<string, unknown>[];

  const escalate = async () => {
    const id = await request(junior, '2020-06-01', '2020-06-02', escalating.as(tenant.apiKey));
    // The new approver is notified once the run has taken the escalation: now they can decide.
    await eventually(() => history(id), (entries) => entries.some((e) => e.action === 'notified' && e.event === 'leave.escalated'));
    await call('POST', `/v1/leave-requests/${id}/approve`, { body: {}, headers: await actorHeaders(tenant, boss) });
    return id;
  };
  const [escalated, expired] = await Promise.all([escalate(), request(junior, '2020-07-06', '2020-07-07', expiring.as(tenant.apiKey))]);
  const approved = await request(worker, '2020-03-02', '2020-03-03');
  await call('POST', `/v1/leave-requests/${approved}/approve`, { body: {}, headers: await actorHeaders(tenant, boss) });
  const rejected = await request(worker, '2020-04-06', '2020-04-07');
  await call('POST', `/v1/leave-requests/${rejected}/reject`, { body: {}, headers: await actorHeaders(tenant, boss) });
  return {
    'leaveApproval-approved': `leave-${approved}`,
    'leaveApproval-rejected': `leave-${rejected}`,
    'leaveApproval-auto_approved': `leave-${await request(boss, '2020-05-04', '2020-05-05')}`,
    'leaveApproval-escalated_approved': `leave-${escalated}`,
    'leaveApproval-escalated_expired': `leave-${expired}`,
  };
}

/**
 * Offboarding with a last day in the past (the run acts at once): boss ← leaver ← report; the
 * report's pending request moves to the boss, the leaver's own pending request is cancelled.
 */
async function offboardingScenario(tenant: Tenant): Promise<Ids> {
  const { call } = tenant;
  await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave' } });
  let n = 0;
  const employee = async (managerId?: string) => {
    const id = (await call('POST', '/v1/employees', {
      body: { employee_number: `O${++n}`, first_name: 'O', last_name: `P${n}`, email: `o${n}@example.com`, department: 'Ops', hire_date: '2020-01-01', ...(managerId ? { manager_id: managerId } : {}) },
    })).body.id as string;
    await call('POST', `/v1/employees/${id}/leave-allocations`, { body: { leave_type: 'annual', year: 2020, days: 10 } });
    return id;
  };
  const leaver = await employee(await employee());
  const report = await employee(leaver);
  for (const [employeeId, start, end] of [[leaver, '2020-09-07', '2020-09-08'], [report, '2020-10-05', '2020-10-06']] as const) {
    await call('POST', '/v1/leave-requests', { body: { employee_id: employeeId, leave_type: 'annual', start_date: start, end_date: end } });
  }
  await call('POST', `/v1/employees/${leaver}/terminate`, { body: { termination_date: '2020-12-31' } });
  return { 'offboarding-terminated': `offboarding-${leaver}` };
}

/**
 * Review cycles of boss ← manager ← worker: one with both due dates past (the run escalates the
 * waiting reviews at once; the worker's self review and the boss's manager review are in), closed
 * after; one closed while it sleeps toward its first reminder.
 */
async function reviewCycleScenarios(tenant: Tenant): Promise<Ids> {
  const { call } = tenant;
  let n = 0;
  const employee = async (managerId?: string) => (await call('POST', '/v1/employees', {
    body: { employee_number: `R${++n}`, first_name: 'R', last_name: `V${n}`, email: `r${n}@example.com`, department: 'Ops', hire_date: '2020-01-01', ...(managerId ? { manager_id: managerId } : {}) },
  })).body.id as string;
  const boss = await employee();
  const manager = await employee(boss);
  const worker = await employee(manager);
  const cycle = async (selfDue: string, managerDue: string) => (await call('POST', '/v1/review-cycles', {
    body: { name: 'Replay', period_start: '2020-01-01', period_end: '2020-12-31', self_review_due: selfDue, manager_review_due: managerDue },
  })).body.id as string;
  const reviewOf = async (cycleId: string, employeeId: string) =>
    (await call('GET', `/v1/review-cycles/${cycleId}/reviews?limit=100`)).body.data.find((r: { employee_id: string }) => r.employee_id === employeeId);
  const past = await cycle('2021-01-01T00:00:00Z', '2021-02-01T00:00:00Z');
  const escalated = await eventually(() => reviewOf(past, worker), (r) => r?.reviewer_id === boss, 30_000);
  await call('POST', `/v1/reviews/${escalated.id}/manager`, { body: { rating: 4, comments: 'Good.' }, headers: await actorHeaders(tenant, boss) });
  const close = async (cycleId: string) => call('POST', `/v1/review-cycles/${cycleId}/close`, { body: {}, headers: await actorHeaders(tenant, 'user_hr_1') });
  await close(past);
  const early = await cycle(new Date(Date.now() + 3_600_000).toISOString(), new Date(Date.now() + 7_200_000).toISOString());
  await close(early);
  return { 'reviewCycle-escalated_closed': `review-cycle-${past}`, 'reviewCycle-closed_early': `review-cycle-${early}` };
}

/**
 * Recruitment: boss ← hiring manager; four candidates at stage offer, whose offers are approved and
 * accepted, approved and declined, rejected, approved and left to expire (2 s); an interview whose
 * slot is INTERVIEW_REMINDER_BEFORE (24 h) + 2 s away, so its reminder waits on a timer; its feedback follows.
 */
async function recruitmentScenarios(tenant: Tenant): Promise<Ids> {
  const { call } = tenant;
  let n = 0;
  const employee = async (managerId?: string) => (await call('POST', '/v1/employees', {
    body: { employee_number: `H${++n}`, first_name: 'H', last_name: `M${n}`, email: `h${n}@example.com`, department: 'Ops', hire_date: '2020-01-01', ...(managerId ? { manager_id: managerId } : {}) },
  })).body.id as string;
  const boss = await employee();
  const manager = await employee(boss);
  const job = (await call('POST', '/v1/jobs', { body: { title: 'Engineer', department: 'Eng', hiring_manager_id: manager } })).body.id as string;
  const at = (ms: number) => new Date(Date.now() + ms).toISOString();
  const candidate = async (stages: string[]) => {
    const id = (await call('POST', '/v1/candidates', { body: { job_id: job, name: `Cand ${++n}`, email: `c${n}@example.org` } })).body.id as string;
    for (const to of stages) await call('POST', `/v1/candidates/${id}/advance`, { body: { to }, headers: await actorHeaders(tenant, manager) });
    return id;
  };
  const offer = async (expiresInMs: number) => (await call('POST', `/v1/candidates/${await candidate(['screening', 'interview', 'offer'])}/offer`, {
    body: { annual_salary: 6_000_000, currency: 'USD', start_date: '2031-07-01', expires_at: at(expiresInMs) }, headers: await actorHeaders(tenant, manager),
  })).body.id as string;
  const act = async (id: string, action: string, actor?: string) =>
    call('POST', `/v1/offers/${id}/${action}`, { body: {}, headers: actor ? await actorHeaders(tenant, actor) : {} });
  const [accepted, declined, rejected, expired] = await Promise.all([offer(3_600_000), offer(3_600_000), offer(3_600_000), offer(2_000)]);
  for (const id of [accepted!, declined!, expired!]) await act(id, 'approve', boss);
  await act(accepted!, 'accept');
  await act(declined!, 'decline');
  await act(rejected!, 'reject', boss);
  const interviewee = await candidate(['screening', 'interview']);
  const interview = (await call('POST', `/v1/candidates/${interviewee}/interviews`, {
    body: { interviewer_id: boss, at: at(h.config.INTERVIEW_REMINDER_BEFORE + 2_000) },
  })).body.id as string;
  await eventually(async () => (await call('GET', `/v1/interviews/${interview}`)).body.reminded_at as string | null, (r) => r !== null, 30_000);
  await call('POST', `/v1/interviews/${interview}/feedback`, { body: { rating: 4 }, headers: await actorHeaders(tenant, boss) });
  return {
    'offer-accepted': `offer-${accepted}`, 'offer-declined': `offer-${declined}`, 'offer-rejected': `offer-${rejected}`,
    'offer-expired': `offer-${expired}`, 'interviewReminder-reminded': `interview-${interview}`,
  };
}

/** A broadcast of an in-app message to a topic of three subscribers. */
async function broadcastScenario(tenant: Tenant): Promise<Ids> {
  const { call } = tenant;
  await call('POST', '/v1/notification-templates', { body: { id: 'news', channels: { in_app: { title: 'News', body: 'Hi' } } } });
  await call('POST', '/v1/topics', { body: { key: 'news', name: 'News' } });
  await call('POST', '/v1/topics/news/subscribers', { body: { user_ids: ['a', 'b', 'c'] } });
  const id = (await call('POST', '/v1/broadcasts', { body: { topic_key: 'news', template_id: 'news', channels: ['in_app'] } })).body.id as string;
  await eventually(async () => (await call('GET', `/v1/broadcasts/${id}`)).body.status as string, (s) => s === 'completed', 30_000);
  return { 'broadcast-completed': `broadcast-${id}` };
}

/** Two normal-priority e-mails to a user with a 3 s digest window: held, then sent as one digest. */
async function digestScenario(tenant: Tenant): Promise<Ids> {
  const { call } = tenant;
  await call('POST', '/v1/notification-templates', { body: { id: 'note', channels: { email: { subject: 'Note {{n}}', body: '<p>{{n}}</p>' } } } });
  await call('PUT', '/v1/users/digest_user/contacts', { body: { email: 'digest_user@example.com' } });
  await call('PUT', '/v1/users/digest_user/notification-preferences', { body: { digest: { email: '3s' } } });
  const notify = async (n: number) => (await call('POST', '/v1/notifications', {
    body: { user_id: 'digest_user', template_id: 'note', data: { n }, channels: ['email'], priority: 'normal' },
  })).body.id as string;
  const [first] = await Promise.all([notify(1), notify(2)]);
  await settled(call, first!);
  const { rows: [row] } = await h.pool.query('SELECT id FROM notification_digests WHERE tenant_id = $1', [tenant.id]);
  return { 'digest-sent': `digest-${row.id as string}` };
}

/** Payroll runs of one employee each, one period per run (one live run per period). */
async function payrollScenarios(tenant: Tenant): Promise<Ids> {
  const company = await payrollCompany(tenant, 5_000_000);
  await hirePayrollEmployee(tenant);
  const run = async (period: string) =>
    (await createPayrollRun(tenant, 'user_hr_1', { period, pay_date: `${period}-28`, funding_account_id: company })).body.id as string;
  const status = async (id: string) => (await tenant.call('GET', `/v1/payroll-runs/${id}`)).body.status as string;
  const ok = await run('2025-01');
  await payrollAction(tenant, ok, 'approve', 'user_hr_2');
  await eventually(() => status(ok), (s) => s === 'paid', 30_000);
  const noWallet = await hirePayrollEmployee(tenant, { wallet: false }); // calculated from the next run on
  const retried = await run('2025-02');
  await payrollAction(tenant, retried, 'approve', 'user_hr_2');
  await eventually(() => status(retried), (s) => s === 'partially_failed', 30_000);
  await linkWallet(tenant, noWallet.id);
  await payrollAction(tenant, retried, 'retry-failed', 'user_hr_2');
  await eventually(() => status(retried), (s) => s === 'paid', 30_000);
  const cancelled = await run('2025-03');
  await payrollAction(tenant, cancelled, 'cancel', 'user_hr_1');
  const poor = await payrollCompany(tenant, 1);
  const failed = (await createPayrollRun(tenant, 'user_hr_1', { period: '2025-04', pay_date: '2025-04-28', funding_account_id: poor })).body.id as string;
  await payrollAction(tenant, failed, 'approve', 'user_hr_2');
  return {
    'payrollRun-paid': `payroll-run-${ok}`, 'payrollRun-retried_paid': `payroll-run-${retried}`,
    'payrollRun-cancelled': `payroll-run-${cancelled}`, 'payrollRun-insufficient_funds': `payroll-run-${failed}`,
  };
}

/**
 * Notifications: sent, scheduled and cancelled, scheduled 1 s ahead and sent, deferred by quiet
 * hours and cancelled; a webhook event, and an ops retry of a dead letter.
 */
async function notificationScenarios(tenant: Tenant): Promise<Ids> {
  const { call } = tenant;
  await call('POST', '/v1/notification-templates', {
    body: { id: 'replay', channels: { sms: { body: 'Hi {{name}}' }, in_app: { title: 'Hi', body: 'Hi {{name}}' } } },
  });
  await call('PUT', '/v1/users/replay_user/contacts', { body: { phone: '+15557654321' } });
  const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  const quiet = await call('PUT', '/v1/users/replay_quiet/notification-preferences', {
    body: { quiet_hours: { start: hhmm(Date.now() - 3_600_000), end: hhmm(Date.now() + 3_600_000), time_zone: 'UTC' } },
  });
  expect(quiet.status, JSON.stringify(quiet.body)).toBe(200);
  const notify = async (extra: Record<string, unknown>) => (await call('POST', '/v1/notifications', {
    body: { user_id: 'replay_user', template_id: 'replay', data: { name: 'R' }, channels: ['sms', 'in_app'], priority: 'normal', ...extra },
  })).body.id as string;
  const scheduled = await notify({ channels: ['in_app'], scheduled_at: new Date(Date.now() + 1_000).toISOString() });
  const deferred = await notify({ user_id: 'replay_quiet', channels: ['in_app'] });
  const sent = await notify({});
  const cancelled = await notify({ scheduled_at: new Date(Date.now() + 3_600_000).toISOString() });
  await call('POST', `/v1/notifications/${cancelled}/cancel`, { body: {} });
  await eventually(async () => (await call('GET', `/v1/notifications/${deferred}`)).body.status, (status) => status === 'deferred');
  await call('POST', `/v1/notifications/${deferred}/cancel`, { body: {} });
  await settled(call, sent);

  const sim = providersControl(providers.url);
  await sim.fault({ provider: 'sms', mode: 'always', status: 500 });
  const dead = await notify({});
  const deadSms = (await settled(call, dead)).deliveries.find((d) => d.channel === 'sms')!.id;
  await sim.clearFaults();
  await h.admin('POST', `/v1/ops/dead-letters/${deadSms}/retry`, { body: {} });

  await call('POST', '/v1/webhook-endpoints', { body: { url: `${providers.url}/webhooks/replay`, events: ['*'] } });
  const eventId = await withTransaction(h.pool, (client) => appendOutboxEvent(client, {
    tenantId: tenant.id, topic: 'payment.failed', idempotencyKey: `replay-${Date.now()}`, payload: { payment_id: 'pay_replay', amount: 1, currency: 'USD' },
  }));
  const event = await h.temporal.workflow.start('domainEvent', {
    workflowId: `event-${eventId}`, taskQueue: h.config.TASK_QUEUE_NOTIFICATIONS,
    args: [{ ...eventWorkflowSettings(h.config), tenantId: tenant.id, eventId: eventId!, topic: 'payment.failed' }],
  });
  return {
    'notification-sent': `notification-${sent}`,
    'notification-cancelled': `notification-${cancelled}`,
    'notification-scheduled_sent': `notification-${scheduled}`,
    'notification-deferred_cancelled': `notification-${deferred}`,
    'domainEvent-webhook': event.workflowId,
    'deadLetterRetry-sent': `dead-letter-retry-${deadSms}-1`,
  };
}

/**
 * A settlement run over a window of 1975, where no test has payments: a window with payments
 * due would also settle other test files' payments (every captured payment created before the
 * window's end is due), so this run settles nothing and opens the window's (empty) batch.
 */
async function settlementScenario(): Promise<Ids> {
  const hourMs = 3_600_000;
  const windowEndMs = Date.parse('1975-01-01T01:00:00.000Z');
  const run = await h.temporal.workflow.start<typeof settlementRun>('settlementRun', {
    taskQueue: h.config.TASK_QUEUE_PAYMENTS, workflowId: `settlement-replay-${Date.now()}`,
    // Started half an hour into the hour after the window: the lag takes it back there.
    args: [{ intervalMs: hourMs, lagMs: Date.now() - (windowEndMs + hourMs / 2), batchLimit: 10 }],
  });
  return { 'settlementRun-nothing_due': run.workflowId };
}

/** How long a run may take to get where its scenario leads (seconds are enough; a wide margin). */
const END_WAIT_MS = 60_000;

/**
 * Waits until the run got where its scenario leads, or gives up after END_WAIT_MS, then fetches
 * its history: a run that failed, or is stuck elsewhere, shows so in its outcome.
 */
async function historyAtEnd(workflowId: string, expected: Outcome): Promise<History> {
  const handle = h.temporal.workflow.getHandle(workflowId);
  if ('running' in expected) {
    const deadline = Date.now() + END_WAIT_MS;
    while ((await handle.describe()).typedSearchAttributes.get(BusinessStatus) !== expected.running && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
  } else {
    await h.temporal.withAbortSignal(AbortSignal.timeout(END_WAIT_MS), () => handle.result()).catch(() => undefined);
  }
  return handle.fetchHistory();
}

describe('workflow determinism', () => {
  it(`has the recorded histories of the current release (${RELEASE}) for every scenario`, () => {
    const dir = `workflows/histories/${RELEASE}/`;
    const missing = SCENARIOS.filter((scenario) => !existsSync(`${releaseDir(RELEASE)}${scenario}.json`));
    expect(missing, `${dir} (package.json's version ${RELEASE}) lacks the histories of these scenarios: run \`npm run record:histories\``).toEqual([]);
  });

  for (const release of RELEASES) {
    it(`replays every history recorded with release ${release} with the current code, each at its scenario’s end`, async () => {
      // Named release/scenario, in the outcomes and the replay errors alike.
      const histories = fixturesOf(release).map((scenario) => ({ scenario, workflowId: `${release}/${scenario}`, history: fixture(release, scenario) }));
      expect(histories.length, `workflows/histories/${release}/ holds no history`).toBeGreaterThan(0);
      // Each fixture is held to the end its scenario leads to today. A fixture of an older release
      // whose scenario is no longer in EXPECTED (dropped or renamed since) is not checked for its
      // outcome, but it is still replayed below: runs that release started may still be open.
      const held = histories.filter(({ scenario }) => scenario in EXPECTED);
      expect(Object.fromEntries(held.map(({ workflowId, history }) => [workflowId, outcomeOf(history)])))
        .toEqual(Object.fromEntries(held.map(({ workflowId, scenario }) => [workflowId, EXPECTED[scenario as Scenario]])));
      const errors = await replay(currentCode(), histories.map(({ workflowId, history }) => ({ workflowId, history })));
      expect(messages(errors)).toEqual(Object.fromEntries(histories.map(({ workflowId }) => [workflowId, 'replayed'])));
    });
  }

  it('replays fresh histories of every scenario, once each reached its expected end (RECORD_HISTORIES=1 saves new ones)', async () => {
    if (!process.env.RECORD_HISTORIES) void brokenTransferBundle(); // for the next test, while these wait on timers
    const ids = await runScenarios();
    expect(Object.keys(ids).sort()).toEqual([...SCENARIOS].sort());
    const histories = await Promise.all(SCENARIOS.map(async (scenario) => ({
      scenario, workflowId: ids[scenario]!, history: await historyAtEnd(ids[scenario]!, EXPECTED[scenario]),
    })));
    // A scenario that did not get where it should fails here, before anything is replayed or
    // recorded — each by its name, with the run's last events (a summary may cut a long diff).
    for (const { scenario, workflowId, history } of histories) {
      expect.soft(outcomeOf(history), `${scenario} (${workflowId}) ended elsewhere; its last events: ${lastEvents(history)}`).toEqual(EXPECTED[scenario]);
    }
    expect(Object.fromEntries(histories.map(({ scenario, history }) => [scenario, outcomeOf(history)]))).toEqual(EXPECTED);
    const errors = await replay(currentCode(), histories.map(({ workflowId, history }) => ({ workflowId, history })));
    expect(messages(errors)).toEqual(Object.fromEntries(histories.map(({ workflowId }) => [workflowId, 'replayed'])));

    const mode = process.env.RECORD_HISTORIES;
    if (mode === '1' || mode === 'all') {
      // Into the current release's folder only: an older release's histories are what its runs did.
      mkdirSync(releaseDir(RELEASE), { recursive: true });
      for (const { scenario, history } of histories) {
        const file = `${releaseDir(RELEASE)}${scenario}.json`;
        if (mode === 'all' || !existsSync(file)) writeFileSync(file, historyToJSON(history));
      }
    }
  });

  it(`a deliberate non-deterministic change to a copy of p2pTransfer fails the replay of its histories recorded with release ${RELEASE}`, async () => {
    const { original, broken, code } = await brokenTransferBundle();
    // The break went in once, before the first step, and every relative import was rewritten.
    expect(original.match(new RegExp(TRANSFER_BODY.source, 'gm'))).toHaveLength(1);
    expect(broken.split(BREAK)).toHaveLength(2);
    expect(broken).not.toMatch(/from '\.\.?\//);

    const histories = SCENARIOS.filter((s) => s.startsWith('p2pTransfer-')).map((s) => ({ workflowId: s, history: fixture(RELEASE, s) }));
    expect(histories).toHaveLength(5);
    const current = await replay(currentCode(), histories);
    expect(messages(current)).toEqual(Object.fromEntries(histories.map((s) => [s.workflowId, 'replayed'])));
    const changed = await replay({ code }, histories);
    for (const { workflowId } of histories) {
      const error = changed[workflowId];
      expect(error, workflowId).toBeInstanceOf(DeterminismViolationError);
      // Caught where the histories and the new code part: the first step. Since 0.3.0 that is the
      // `risk-scoring` patch's marker (the new code schedules an activity where the history has it);
      // in 0.2.0 the hold, a local activity, which core names by its sequence number; a regular
      // activity is named (0.1.0: placeTransferHold where the new code has checkTransferAllowed).
      expect(error?.message, workflowId).toMatch(
        /patch marker encountered for change risk-scoring|Missing associated machine for LocalActivity\(1\)|placeTransferHold[\s\S]*checkTransferAllowed/,
      );
    }
  });
});
