import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import type { LeaveRequest } from '../../domain/hr/types.js';
import { isFinal } from '../../domain/payments/state-machine.js';
import type { Payment, Refund } from '../../domain/payments/types.js';
import type { Transfer } from '../../domain/wallet/types.js';
import { countLeaveRequestsByStatus, findLeaveRequest } from '../../store/hr/leave-requests.js';
import { auditLedger } from '../../store/ledger/audit.js';
import { listInbox } from '../../store/notifications/inbox.js';
import { getNotification, type Notification } from '../../store/notifications/notifications.js';
import { countPaymentsByStatus, findPayment } from '../../store/payments/payments.js';
import { findRefund } from '../../store/payments/refunds.js';
import { countTransfersByStatus, findTransfer } from '../../store/wallet/transfers.js';
import { providersControl } from '../../simulators/providers/client.js';
import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';
import { checkProcessorBooks } from './books.js';
import type { Fixture } from './fixture.js';
import { DEFAULT_RETRY_POLICY, mapLimit, sendUntilAnswered, type RetryPolicy } from './http.js';
import { isAccepted, objectsOf, requestFor, type ObjectKind, type RequestKind, type RequestRecord, type Unsettled, type WorkloadObject } from './workload.js';

/**
 * The invariants the chaos suite checks once the load has drained (workload.ts `drain`). Each is
 * checked on its own and reports `ok` with a one-line detail (counts, and the first problems).
 * The truth is PostgreSQL's primary (the pool), Temporal, the simulators' own books, and the API
 * for what clients see.
 */

export interface InvariantResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface InvariantContext {
  fixture: Fixture;
  records: readonly RequestRecord[];
  /** The application database (its primary). */
  pool: pg.Pool;
  temporal: Client;
  processorsUrl: string;
  /** The notification providers simulator; without it, SMS messages are not matched at the provider. */
  providersUrl?: string | null;
  /** What `drain` left not at rest (shown in `accepted_final_or_running`; the check itself decides). */
  unsettled?: readonly Unsettled[];
  /** `all` (default): the whole ledger (a database of its own); `tenant`: the fixture's tenant (a shared one). */
  ledgerScope?: 'all' | 'tenant';
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
}

/** The names `checkInvariants` reports, in order. */
export const INVARIANTS = [
  'ledger_audit', 'accepted_final_or_running', 'processor_books', 'notification_deliveries', 'idempotent_replays',
  'money_conservation', 'answers_truthful', 'committed_transfers_kept',
] as const;
export type InvariantName = (typeof INVARIANTS)[number];

const PROBLEMS_SHOWN = 5;
const verdict = (summary: string, problems: string[]): { ok: boolean; detail: string } => ({
  ok: problems.length === 0,
  detail: problems.length === 0 ? summary : `${summary}; ${problems.length} problems: ${problems.slice(0, PROBLEMS_SHOWN).join('; ')}`,
});

/** The objects the workload created, as PostgreSQL has them (null: the row is missing). */
interface States {
  objects: WorkloadObject[];
  transfers: Map<string, Transfer | null>;
  payments: Map<string, Payment | null>;
  leaves: Map<string, LeaveRequest | null>;
  notifications: Map<string, Notification | null>;
  refundOf(id: string): Promise<Refund | null>;
}

async function loadStates(ctx: InvariantContext): Promise<States> {
  const { pool } = ctx;
  const tenantId = ctx.fixture.tenantId;
  const objects = [...objectsOf(ctx.records).values()];
  const states: States = {
    objects, transfers: new Map(), payments: new Map(), leaves: new Map(), notifications: new Map(),
    refundOf: (id) => findRefund(pool, tenantId, id),
  };
  await mapLimit(objects, ctx.concurrency ?? 8, async (o) => {
    switch (o.kind) {
      case 'transfer': return void states.transfers.set(o.id, await findTransfer(pool, tenantId, o.id));
      case 'payment': return void states.payments.set(o.id, await findPayment(pool, tenantId, o.id));
      case 'leave_request': return void states.leaves.set(o.id, await findLeaveRequest(pool, tenantId, o.id));
      case 'notification': return void states.notifications.set(o.id, await getNotification(pool, tenantId, o.id));
      default: {
        const unreachable: never = o.kind;
        throw new Error(`unknown object kind ${String(unreachable)}`);
      }
    }
  });
  return states;
}

/**
 * Checks every invariant (see `INVARIANTS`); never throws for a broken one (a check that cannot
 * run reports not ok with its error).
 *
 * @example
 * const results = await checkInvariants({ fixture, records: workload.records, pool, temporal, processorsUrl, providersUrl });
 * for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail}`);
 */
export async function checkInvariants(ctx: InvariantContext): Promise<InvariantResult[]> {
  const states = await loadStates(ctx);
  const checks: Record<InvariantName, () => Promise<{ ok: boolean; detail: string }>> = {
    ledger_audit: () => ledgerAudit(ctx),
    accepted_final_or_running: () => finalOrRunning(ctx, states),
    processor_books: () => checkProcessorBooks(ctx.processorsUrl, [...states.payments.values()].filter((p): p is Payment => p !== null), states.refundOf),
    notification_deliveries: () => notificationDeliveries(ctx, states),
    idempotent_replays: () => idempotentReplays(ctx),
    money_conservation: () => moneyConservation(ctx, states),
    answers_truthful: () => answersTruthful(ctx, states),
    committed_transfers_kept: async () => {
      const committed = committedTransfers(ctx.records);
      const lost = await lostTransfers(ctx.pool, ctx.fixture.tenantId, committed);
      return verdict(`${committed.length} committed transfers, ${lost.length} lost`, lost.map((l) => `${l.id} answered ${l.answeredStatus}, now ${l.now ?? 'missing'}`));
    },
  };
  const results: InvariantResult[] = [];
  for (const name of INVARIANTS) {
    try {
      results.push({ name, ...(await checks[name]()) });
    } catch (err) {
      results.push({ name, ok: false, detail: `the check failed: ${(err as Error).message}` });
    }
  }
  return results;
}

// ── 1. The ledger ───────────────────────────────────────────────────────────────────────────

async function ledgerAudit(ctx: InvariantContext) {
  const report = await auditLedger(ctx.pool, ctx.ledgerScope === 'tenant' ? { tenantId: ctx.fixture.tenantId } : {});
  const { accounts, transactions, entries } = report.checked;
  return verdict(`${accounts} accounts, ${transactions} transactions, ${entries} entries`, report.problems.map((p) => `${p.kind} ${p.id}: ${p.detail}`));
}

// ── 2. Every accepted request: final, or waiting with a live run ────────────────────────────

const WORKFLOW_OF: Record<ObjectKind, { readonly idPrefix: string }> = {
  transfer: workflowContracts.p2pTransfer,
  payment: workflowContracts.paymentSaga,
  leave_request: workflowContracts.leaveApproval,
  notification: workflowContracts.notification,
};

/** The object's status, and whether it is final (no run needs to be alive for it). */
function statusOf(o: WorkloadObject, states: States): { status: string; final: boolean } | null {
  const today = new Date().toISOString().slice(0, 10);
  switch (o.kind) {
    case 'transfer': {
      const t = states.transfers.get(o.id);
      return t ? { status: t.status, final: t.status !== 'pending' } : null;
    }
    case 'payment': {
      const p = states.payments.get(o.id);
      return p ? { status: p.status, final: isFinal(p.status) } : null;
    }
    case 'leave_request': {
      const l = states.leaves.get(o.id);
      // An approved leave stays cancellable (its run alive) until its first day.
      return l ? { status: l.status, final: l.status !== 'pending' && !(l.status === 'approved' && l.startDate > today) } : null;
    }
    case 'notification': {
      const n = states.notifications.get(o.id);
      return n ? { status: n.status, final: n.status === 'completed' || n.status === 'cancelled' } : null;
    }
    default: {
      const unreachable: never = o.kind;
      throw new Error(`unknown object kind ${String(unreachable)}`);
    }
  }
}

async function runStatus(temporal: Client, workflowId: string): Promise<string> {
  try {
    return (await temporal.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
    throw err;
  }
}

async function finalOrRunning(ctx: InvariantContext, states: States) {
  const problems: string[] = [];
  let final = 0;
  let waiting = 0;
  let windowClosed = 0;
  const pendingRefunds = await pendingRefundPayments(ctx, states);
  await mapLimit(states.objects, ctx.concurrency ?? 8, async (o) => {
    const state = statusOf(o, states);
    if (!state) return void problems.push(`${o.id}: accepted (${o.create.answer!.status}) but no row`);
    if (state.final && !pendingRefunds.has(o.id)) return void final++;
    const workflowId = workflowIdOf(WORKFLOW_OF[o.kind], o.id);
    const run = await runStatus(ctx.temporal, workflowId);
    if (run === 'RUNNING') waiting++;
    // The saga ends once REFUND_WINDOW has passed: a captured (or settled) payment rests, no longer changeable.
    else if (o.kind === 'payment' && run === 'COMPLETED' && (state.status === 'captured' || state.status === 'settled') && !pendingRefunds.has(o.id)) windowClosed++;
    else problems.push(`${o.id} is ${state.status}${pendingRefunds.has(o.id) ? ' with a pending refund' : ''}, its run ${workflowId} is ${run}`);
  });
  const drained = ctx.unsettled ? `; drain left ${ctx.unsettled.length} not at rest` : '';
  return verdict(`${states.objects.length} accepted objects: ${final} final, ${windowClosed} captured after their refund window, ${waiting} waiting with a live run${drained}`, problems);
}

/** Payments with a refund the client was given (2xx) that is still pending: their saga must be alive. */
async function pendingRefundPayments(ctx: InvariantContext, states: States): Promise<Set<string>> {
  const refunds = ctx.records.filter((r) => r.kind === 'payment.refund' && isAccepted(r));
  const pending = new Set<string>();
  await mapLimit(refunds, ctx.concurrency ?? 8, async (r) => {
    const id = (r.answer!.body as { id?: string }).id;
    const refund = id ? await states.refundOf(id) : null;
    if (refund?.status === 'pending') pending.add(r.objectId!);
  });
  return pending;
}

// ── 4. Notification deliveries ──────────────────────────────────────────────────────────────

async function inboxNotificationIds(ctx: InvariantContext, userId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let startingAfter: string | undefined; ;) {
    const page = await listInbox(ctx.pool, ctx.fixture.tenantId, userId, { limit: 100, startingAfter });
    ids.push(...page.data.flatMap((m) => (m.notification_id === null ? [] : [m.notification_id])));
    if (!page.has_more || page.data.length === 0) return ids;
    startingAfter = page.data[page.data.length - 1]!.id;
  }
}

/**
 * One delivery row per requested channel; every in-app delivery sent is one inbox message (and no
 * message without one); every SMS sent is one message at the provider, under the delivery's id, the
 * one the delivery names — and the provider took no other message for our recipients.
 */
async function notificationDeliveries(ctx: InvariantContext, states: States) {
  const problems: string[] = [];
  const notifications = [...states.notifications.values()].filter((n): n is Notification => n !== null);
  const sentSms = new Map<string, { notificationId: string; providerMessageId: string | null }>();
  const sentInApp = new Set<string>();
  for (const n of notifications) {
    for (const channel of n.channels) {
      const rows = n.deliveries.filter((d) => d.channel === channel);
      if (rows.length !== 1) problems.push(`${n.id}: ${rows.length} ${channel} deliveries`);
    }
    const strays = n.deliveries.filter((d) => !n.channels.includes(d.channel));
    if (strays.length > 0) problems.push(`${n.id}: deliveries on channels it did not ask for (${strays.map((d) => d.channel).join(', ')})`);
    for (const d of n.deliveries.filter((x) => x.status === 'sent')) {
      if (d.channel === 'sms') sentSms.set(d.id, { notificationId: n.id, providerMessageId: d.provider_message_id });
      if (d.channel === 'in_app') sentInApp.add(n.id);
    }
  }

  const ours = new Set(notifications.map((n) => n.id));
  const users = [...new Set(notifications.map((n) => n.user_id))];
  const inbox = (await mapLimit(users, ctx.concurrency ?? 8, (u) => inboxNotificationIds(ctx, u))).flat().filter((id) => ours.has(id));
  const inboxCount = new Map<string, number>();
  for (const id of inbox) inboxCount.set(id, (inboxCount.get(id) ?? 0) + 1);
  for (const id of sentInApp) if (inboxCount.get(id) !== 1) problems.push(`${id}: in-app sent, ${inboxCount.get(id) ?? 0} inbox messages`);
  for (const id of inboxCount.keys()) if (!sentInApp.has(id)) problems.push(`${id}: an inbox message without a sent in-app delivery`);

  let smsDetail = 'SMS not matched at the provider (no providersUrl)';
  if (ctx.providersUrl) {
    const phones = new Set(ctx.fixture.notifications.recipients.map((r) => r.phone));
    const messages = (await providersControl(ctx.providersUrl).messages('sms')).messages.filter((m) => phones.has(m.to));
    const byKey = new Map<string, number>();
    for (const m of messages) {
      const delivery = m.idempotency_key ? sentSms.get(m.idempotency_key) : undefined;
      if (!delivery) problems.push(`a provider message (${m.sid}, key ${m.idempotency_key ?? 'none'}) for no sent delivery`);
      else if (delivery.providerMessageId !== m.sid) problems.push(`${m.idempotency_key}: names ${delivery.providerMessageId}, the provider has ${m.sid}`);
      if (m.idempotency_key) byKey.set(m.idempotency_key, (byKey.get(m.idempotency_key) ?? 0) + 1);
    }
    for (const [id, d] of sentSms) if (byKey.get(id) !== 1) problems.push(`${d.notificationId}: SMS ${id} sent, ${byKey.get(id) ?? 0} messages at the provider`);
    smsDetail = `${messages.length} SMS at the provider`;
  }
  return verdict(`${notifications.length} notifications: ${sentInApp.size} in-app and ${sentSms.size} SMS sent, ${inbox.length} inbox messages, ${smsDetail}`, problems);
}

// ── 5. Idempotent replays ───────────────────────────────────────────────────────────────────

/** Every request answered 2xx, sent again with its key and body: the first answer, byte for byte. */
async function idempotentReplays(ctx: InvariantContext) {
  const accepted = ctx.records.filter(isAccepted);
  const policy = { ...DEFAULT_RETRY_POLICY, retryForMs: 60_000, ...ctx.retry };
  let turn = 0;
  const problems: string[] = [];
  let unanswered = 0;
  await mapLimit(accepted, ctx.concurrency ?? 16, async (record) => {
    const replay = await sendUntilAnswered(ctx.fixture.apiUrl, requestFor(ctx.fixture, record, () => turn++), policy, { attempts: 0, reasons: [] });
    const first = record.answer!;
    if (!replay) return void unanswered++;
    if (replay.status !== first.status || replay.text !== first.text) {
      problems.push(`${record.kind} ${record.key}: first ${first.status} ${first.text.slice(0, 120)}, replay ${replay.status} ${replay.text.slice(0, 120)}`);
    } else if (!replay.replayed) {
      problems.push(`${record.kind} ${record.key}: the same answer, without Idempotent-Replayed`);
    }
  });
  if (unanswered > 0) problems.push(`${unanswered} replays got no answer`);
  return verdict(`${accepted.length} accepted requests replayed`, problems);
}

// ── 6. Money ────────────────────────────────────────────────────────────────────────────────

/** What a payment left on its merchant: captures in, refunds and reversals out (as the ledger posts them). */
function merchantNetMinor(p: Payment): number {
  return p.amountCapturedMinor - p.amountRefundedMinor - (p.status === 'reversed' ? p.amountCapturedMinor : 0);
}

/**
 * Every account's balance (as the API shows it) equals what the workload's objects moved: user
 * wallets their top-ups ± transfers, merchants transfers in + payments' net. Then no money was
 * made or lost, per account.
 */
async function moneyConservation(ctx: InvariantContext, states: States) {
  const expected = new Map<string, number>();
  const add = (account: string, minor: number) => expected.set(account, (expected.get(account) ?? 0) + minor);
  for (const u of ctx.fixture.users) add(u.id, u.fundedMinor);
  for (const m of ctx.fixture.merchants) add(m, 0);
  let pending = 0;
  for (const t of states.transfers.values()) {
    if (t?.status === 'pending') pending++;
    if (t?.status !== 'succeeded') continue;
    add(t.fromAccountId, -t.amountMinor);
    add(t.toAccountId, t.amountMinor);
  }
  for (const p of states.payments.values()) if (p) add(p.merchantAccountId, merchantNetMinor(p));

  const problems: string[] = [];
  const policy = { ...DEFAULT_RETRY_POLICY, retryForMs: 60_000, ...ctx.retry };
  let expectedTotal = 0;
  let actualTotal = 0;
  await mapLimit([...expected], ctx.concurrency ?? 8, async ([account, minor]) => {
    const answer = await sendUntilAnswered(ctx.fixture.apiUrl, {
      method: 'GET', path: `/v1/accounts/${account}`, headers: () => ({ authorization: `Bearer ${ctx.fixture.apiKeys[0]!}` }),
    }, policy, { attempts: 0, reasons: [] });
    const body = answer?.status === 200 ? (answer.body as { balance: number; available_balance: number }) : null;
    if (!body) return void problems.push(`${account}: not readable (${answer?.status ?? 'no answer'})`);
    expectedTotal += minor;
    actualTotal += body.balance;
    if (body.balance !== minor) problems.push(`${account}: balance ${body.balance}, the workload's objects say ${minor}`);
    if (pending === 0 && body.available_balance !== body.balance) problems.push(`${account}: ${body.balance - body.available_balance} still held`);
  });
  return verdict(`${expected.size} accounts: ${actualTotal} ${ctx.fixture.currency} minor units held, ${expectedTotal} expected`, problems);
}

// ── 7. Answers tell the truth ───────────────────────────────────────────────────────────────

/** What a wrong answer said and how it came (the message, attempts, retry reasons): enough to tell its cause from the CI log. */
function answerDetail(r: RequestRecord): string {
  const body = r.answer?.body as { error?: { code?: unknown; message?: unknown } } | null | undefined;
  const said = body?.error ? ` ${String(body.error.code)}: "${String(body.error.message)}"` : '';
  const reasons = r.retry.reasons.map((x) => `+${x.atMs - r.startedAtMs} ms ${x.reason}`).join(', ');
  return ` (${said.trim() || 'no error body'}; attempt ${r.retry.attempts}${reasons ? `, after ${reasons}` : ''}${r.redriven ? ', re-driven' : ''}; key ${r.key})`;
}

/** Did the follow-up `record` take effect, as the object's state shows it (the workload is its only actor)? */
function tookEffect(record: RequestRecord, states: States): boolean | null {
  const id = record.objectId!;
  switch (record.kind) {
    case 'payment.capture': {
      const p = states.payments.get(id);
      return p ? p.amountCapturedMinor > 0 || p.failureCode === 'capture_failed' : null;
    }
    case 'payment.cancel': {
      const p = states.payments.get(id);
      return p ? p.status === 'reversed' : null;
    }
    case 'leave.approve':
    case 'leave.reject': {
      const l = states.leaves.get(id);
      return l ? l.status === (record.kind === 'leave.approve' ? 'approved' : 'rejected') : null;
    }
    default:
      return null; // refunds are summed per payment (below)
  }
}

/** Creations per object kind the store counts (notifications adopt by key: an orphan cannot happen silently there). */
const COUNTED: Partial<Record<ObjectKind, (pool: pg.Pool, tenantId: string) => Promise<number>>> = {
  transfer: async (pool, t) => (await countTransfersByStatus(pool, t)).reduce((sum, r) => sum + r.count, 0),
  payment: async (pool, t) => (await countPaymentsByStatus(pool, t)).reduce((sum, r) => sum + r.count, 0),
  leave_request: async (pool, t) => (await countLeaveRequestsByStatus(pool, t)).reduce((sum, r) => sum + r.n, 0),
};
const CREATE_KIND: Record<ObjectKind, RequestKind> = {
  transfer: 'transfer.create', payment: 'payment.create', leave_request: 'leave.create', notification: 'notification.create',
};

/**
 * What clients were told is what happened: every request got an answer; a follow-up answered 2xx
 * took effect and one refused did not; a payment's refunds are exactly the refunds its client was
 * given (2xx); no object exists that no client was given (an orphan of a refused or lost creation);
 * no two requests were given one object.
 */
async function answersTruthful(ctx: InvariantContext, states: States) {
  const problems: string[] = [];
  for (const r of ctx.records.filter((x) => x.answer === null)) problems.push(`${r.kind} ${r.key}: never answered`);
  for (const r of ctx.records.filter((x) => x.answer !== null && x.objectId !== null && !x.kind.endsWith('.create'))) {
    const effect = tookEffect(r, states);
    if (effect === null) continue;
    if (effect !== isAccepted(r)) problems.push(`${r.kind} on ${r.objectId}: answered ${r.answer!.status}, ${effect ? 'yet it happened' : 'yet it did not happen'}${answerDetail(r)}`);
  }
  problems.push(...await refundsAsAnswered(ctx, states));

  const creations = ctx.records.filter((r) => r.kind.endsWith('.create') && isAccepted(r));
  const ids = new Set(creations.map((r) => r.objectId));
  if (ids.size !== creations.length) problems.push(`${creations.length - ids.size} creations were given an object another creation was given`);
  const orphans: string[] = [];
  for (const [kind, count] of Object.entries(COUNTED) as [ObjectKind, (pool: pg.Pool, tenantId: string) => Promise<number>][]) {
    const stored = await count(ctx.pool, ctx.fixture.tenantId);
    const given = creations.filter((r) => r.kind === CREATE_KIND[kind]).length;
    if (stored !== given) problems.push(`${stored} ${kind}s stored, ${given} given to clients`);
    orphans.push(`${kind} ${stored}/${given}`);
  }
  const followUps = ctx.records.filter((r) => !r.kind.endsWith('.create'));
  return verdict(`${ctx.records.length} requests (${followUps.length} follow-ups); stored/given: ${orphans.join(', ')}`, problems);
}

async function refundsAsAnswered(ctx: InvariantContext, states: States): Promise<string[]> {
  const given = new Map<string, string[]>();
  for (const r of ctx.records.filter((x) => x.kind === 'payment.refund' && isAccepted(x))) {
    const id = (r.answer!.body as { id?: unknown }).id;
    if (typeof id === 'string') given.set(r.objectId!, [...(given.get(r.objectId!) ?? []), id]);
  }
  const payments = new Set(ctx.records.filter((r) => r.kind === 'payment.refund').map((r) => r.objectId!));
  const problems: string[] = [];
  for (const paymentId of payments) {
    const p = states.payments.get(paymentId);
    if (!p) continue;
    const refunds = await Promise.all((given.get(paymentId) ?? []).map((id) => states.refundOf(id)));
    const succeededMinor = refunds.reduce((sum, r) => sum + (r?.status === 'succeeded' ? r.amountMinor : 0), 0);
    if (refunds.some((r) => r === null)) problems.push(`${paymentId}: a refund given to the client is not stored`);
    if (p.amountRefundedMinor !== succeededMinor) problems.push(`${paymentId}: refunded ${p.amountRefundedMinor}, the client was given refunds of ${succeededMinor}`);
  }
  return problems;
}

// ── RPO ─────────────────────────────────────────────────────────────────────────────────────

export interface CommittedTransfer {
  id: string;
  /** The status the client was given (pending, succeeded or failed). */
  answeredStatus: string;
  answeredAtMs: number;
}

/** Transfers whose creation was answered 2xx: committed, as far as their clients know. */
export function committedTransfers(records: readonly RequestRecord[]): CommittedTransfer[] {
  return records
    .filter((r) => r.kind === 'transfer.create' && isAccepted(r) && r.objectId)
    .map((r) => ({ id: r.objectId!, answeredStatus: String((r.answer!.body as { status?: unknown }).status), answeredAtMs: r.answeredAtMs! }));
}

/**
 * RPO: the committed transfers PostgreSQL (its primary now, after any failover) does not have as
 * their clients were told: missing, or a final status (succeeded, failed) gone back or changed, or
 * a success without its ledger transaction.
 *
 * @example const rpo = (await lostTransfers(pool, fixture.tenantId, committedTransfers(workload.records))).length;
 */
export async function lostTransfers(
  pool: pg.Pool, tenantId: string, committed: readonly CommittedTransfer[], concurrency = 8,
): Promise<(CommittedTransfer & { now: string | null })[]> {
  const found = await mapLimit(committed, concurrency, async (c) => ({ c, row: await findTransfer(pool, tenantId, c.id) }));
  return found
    .filter(({ c, row }) => !row || (c.answeredStatus !== 'pending' && row.status !== c.answeredStatus) || (row.status === 'succeeded' && !row.transactionId))
    .map(({ c, row }) => ({ ...c, now: row?.status ?? null }));
}
