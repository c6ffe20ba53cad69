import { randomUUID } from 'node:crypto';
import { EventEmitter, setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { mintActorToken } from '../../api/middleware/actor.js';
import { weekdaysOf, type Fixture } from './fixture.js';
import { DEFAULT_RETRY_POLICY, mapLimit, sendUntilAnswered, type Answer, type HttpRequest, type RetryLog, type RetryPolicy } from './http.js';
import { seededRandom } from './random.js';

export { prepareWorkload, type Fixture, type PrepareOptions } from './fixture.js';
export type { Answer, RetryPolicy } from './http.js';

/**
 * The chaos suite's load: a steady, open-loop mix of scenarios over the public API (through the
 * load balancer), each made of logical requests sent the way a careful client sends them (see
 * http.ts). Every logical request is recorded — its key, exact body, first definitive answer and
 * timings — for the invariants (invariants.ts) and for RTO.
 */

export const SCENARIOS = ['transfer', 'payment_auto', 'payment_manual', 'payment_refund', 'payment_cancel', 'leave', 'notification'] as const;
export type ScenarioKind = (typeof SCENARIOS)[number];

/** Relative weights; a scenario of weight 0 never runs. */
export const DEFAULT_MIX: Readonly<Record<ScenarioKind, number>> = {
  transfer: 30, payment_auto: 15, payment_manual: 10, payment_refund: 10, payment_cancel: 10, leave: 10, notification: 15,
};

export type RequestKind =
  | 'transfer.create' | 'payment.create' | 'payment.capture' | 'payment.cancel' | 'payment.refund'
  | 'leave.create' | 'leave.approve' | 'leave.reject' | 'notification.create';

export type ObjectKind = 'transfer' | 'payment' | 'leave_request' | 'notification';

/** The request that creates each kind of object, and where the object is read. */
export const CREATED_BY: Readonly<Record<ObjectKind, { kind: RequestKind; path: string }>> = {
  transfer: { kind: 'transfer.create', path: '/v1/transfers' },
  payment: { kind: 'payment.create', path: '/v1/payments' },
  leave_request: { kind: 'leave.create', path: '/v1/leave-requests' },
  notification: { kind: 'notification.create', path: '/v1/notifications' },
};

/** One logical request: sent with one key and one body until its first definitive answer. */
export interface RequestRecord {
  seq: number;
  kind: RequestKind;
  scenario: ScenarioKind;
  /** The scenario run it belongs to (a payment's creation and its capture share it). */
  scenarioSeq: number;
  path: string;
  key: string;
  /** The exact bytes sent on every attempt. */
  bodyText: string;
  /** `Steadfast-Actor` subject, for decisions. */
  actor: string | null;
  /** The object acted on (follow-ups), or created (creations, once answered 2xx). */
  objectId: string | null;
  startedAtMs: number;
  answeredAtMs: number | null;
  /** The first definitive answer (2xx or a refusal); null: none came (yet). */
  answer: Answer | null;
  retry: RetryLog;
  /** Answered by drain's re-drive, after the load (same key, same body). */
  redriven: boolean;
}

export interface WorkloadOptions {
  /** Scenarios started per second (open loop: a slow system does not slow the arrivals). */
  ratePerS: number;
  mix?: Partial<Record<ScenarioKind, number>>;
  /** Seeds the scenario choices (kinds, amounts, tokens, dates), drawn when each scenario starts. */
  seed?: number;
  requestTimeoutMs?: number;
  retryForMs?: number;
  /** How long a follow-up (capture, refund, decision) waits for its object to be ready. */
  followUpWaitMs?: number;
  /** Scenarios in flight at most; arrivals beyond are counted as skipped. */
  maxInFlight?: number;
}

export interface WorkloadStats {
  launched: number;
  skipped: number;
  inFlight: number;
  byScenario: Record<ScenarioKind, number>;
  /** Scenario runs that threw (a bug in the workload or an answer of an unexpected shape). */
  errors: string[];
}

export interface WorkloadEvents {
  /** A request got its first definitive answer (2xx or a refusal). */
  answer: [RequestRecord];
}

export interface Workload {
  readonly records: RequestRecord[];
  /** `answer` events: RTO is the time from a fault to the next completion of a request started after it (`recoveryAfter`). */
  readonly events: EventEmitter<WorkloadEvents>;
  readonly stats: WorkloadStats;
  /**
   * Waits (up to `waitMs`) for the first completion (`isCompletion`) of a request of `kinds`
   * (`payments`: `PAYMENT_REQUESTS`) started at or after `faultAtMs`: the fault's RTO in ms, or
   * null when none came in time.
   */
  recoveredAfter(faultAtMs: number, kinds: readonly RequestKind[] | 'all' | 'payments', waitMs: number): Promise<number | null>;
  /** Stops new arrivals and waits for the scenarios in flight (after `graceMs` their retries are cut short). Idempotent. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** The requests of the payment scenarios (what a processor fault can stop). */
export const PAYMENT_REQUESTS: readonly RequestKind[] = ['payment.create', 'payment.capture', 'payment.cancel', 'payment.refund'];

// ── Plans: every random choice of a scenario, drawn when it starts ──────────────────────────

interface PaymentPlan {
  method: { type: 'card' | 'bank_transfer'; token: string };
  merchant: string;
  amountMinor: number;
  captureMethod: 'automatic' | 'manual';
}

type Plan =
  | { scenario: 'transfer'; from: string; to: string; amountMinor: number }
  | { scenario: 'payment_auto'; payment: PaymentPlan }
  | { scenario: 'payment_manual'; payment: PaymentPlan; captureMinor: number | null }
  | { scenario: 'payment_refund'; payment: PaymentPlan; refundsMinor: (number | null)[] }
  | { scenario: 'payment_cancel'; payment: PaymentPlan }
  | { scenario: 'leave'; employeeId: string; date: string; halfDay: 'am' | null; decision: 'approve' | 'reject' }
  | { scenario: 'notification'; userId: string; n: number };


/** Card tokens of the automatic payments: mostly approvals, and the paths that test the saga. */
const AUTO_METHODS: readonly [number, PaymentPlan['method']][] = [
  [0.6, { type: 'card', token: 'tok_visa' }],
  [0.72, { type: 'card', token: 'tok_mastercard' }],
  [0.8, { type: 'card', token: 'tok_card_declined' }],
  [0.87, { type: 'card', token: 'tok_processor_error' }],
  [0.93, { type: 'card', token: 'tok_lost_response' }],
  [1, { type: 'bank_transfer', token: 'btok_success' }],
];

function planner(fixture: Fixture, seed: number, mix: Record<ScenarioKind, number>) {
  const rng = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
  const int = (min: number, max: number) => min + Math.floor(rng() * (max - min + 1));
  const total = SCENARIOS.reduce((sum, k) => sum + mix[k], 0);
  if (!(total > 0)) throw new Error('the workload mix has no weight');
  const leaveDays = fixture.hr.years.flatMap(weekdaysOf);
  let leaveSlot = 0;
  let notificationN = 0;
  const users = fixture.users.map((u) => u.id);

  const payment = (captureMethod: PaymentPlan['captureMethod'], anyToken: boolean): PaymentPlan => {
    const roll = rng();
    const method = anyToken ? AUTO_METHODS.find(([upTo]) => roll < upTo)![1] : { type: 'card' as const, token: roll < 0.8 ? 'tok_visa' : 'tok_mastercard' };
    return { method, merchant: pick(fixture.merchants), amountMinor: int(100, 50_000), captureMethod };
  };

  return function next(): Plan | null {
    let roll = rng() * total;
    const scenario = SCENARIOS.find((k) => (roll -= mix[k]) < 0) ?? 'transfer';
    switch (scenario) {
      case 'transfer': {
        const from = pick(users);
        const others = users.filter((u) => u !== from);
        const to = others.length === 0 || rng() < 0.2 ? pick(fixture.merchants) : pick(others);
        return { scenario, from, to, amountMinor: int(100, 5_000) };
      }
      case 'payment_auto':
        return { scenario, payment: payment('automatic', true) };
      case 'payment_manual': {
        const p = payment('manual', false);
        return { scenario, payment: p, captureMinor: rng() < 0.3 ? Math.max(1, Math.floor(p.amountMinor / 2)) : null };
      }
      case 'payment_refund': {
        const p = payment('automatic', false);
        const partial = Math.max(1, Math.floor(p.amountMinor * 0.4));
        const roll2 = rng();
        return { scenario, payment: p, refundsMinor: roll2 < 0.5 ? [null] : roll2 < 0.75 ? [partial] : [partial, null] };
      }
      case 'payment_cancel':
        return { scenario, payment: payment(rng() < 0.5 ? 'manual' : 'automatic', false) };
      case 'leave': {
        const slot = leaveSlot++;
        const employees = fixture.hr.employeeIds;
        const date = leaveDays[Math.floor(slot / employees.length)];
        if (date === undefined) return null; // every working day of the fixture's years is taken
        return { scenario, employeeId: employees[slot % employees.length]!, date, halfDay: rng() < 0.2 ? 'am' : null, decision: rng() < 0.7 ? 'approve' : 'reject' };
      }
      case 'notification':
        return { scenario, userId: pick(fixture.notifications.recipients).userId, n: ++notificationN };
      default: {
        const unreachable: never = scenario;
        throw new Error(`unknown scenario ${String(unreachable)}`);
      }
    }
  };
}

// ── Requests ────────────────────────────────────────────────────────────────────────────────

/** The HTTP request a record stands for: its key and bytes, any of the tenant's keys, a fresh actor token. */
export function requestFor(fixture: Fixture, record: Pick<RequestRecord, 'path' | 'key' | 'bodyText' | 'actor'>, keyTurn: () => number): HttpRequest {
  return {
    method: 'POST', path: record.path, bodyText: record.bodyText, idempotencyKey: record.key,
    headers: async () => ({
      authorization: `Bearer ${fixture.apiKeys[keyTurn() % fixture.apiKeys.length]!}`,
      ...(record.actor ? { 'steadfast-actor': await mintActorToken({ ...fixture.signingKey, sub: record.actor }) } : {}),
    }),
  };
}

/** Takes turns over the tenant's API keys. */
function keyTurns(): () => number {
  let turn = 0;
  return () => turn++;
}

type Body = Record<string, unknown>;
const asBody = (answer: Answer | null): Body | null =>
  answer && answer.status >= 200 && answer.status < 300 && answer.body !== null && typeof answer.body === 'object' ? (answer.body as Body) : null;

/** Sends scenarios' requests, records them, and reads objects back. */
class Runner {
  readonly #keyTurn = keyTurns();
  readonly #runId = randomUUID().slice(0, 8);

  constructor(
    readonly fixture: Fixture,
    readonly policy: RetryPolicy,
    readonly signal: AbortSignal,
    readonly records: RequestRecord[],
    readonly events: EventEmitter<WorkloadEvents>,
  ) {}

  async post(
    at: { kind: RequestKind; scenario: ScenarioKind; scenarioSeq: number },
    path: string, body: Body, options: { actor?: string; objectId?: string } = {},
  ): Promise<Body | null> {
    const seq = this.records.length;
    const record: RequestRecord = {
      seq, ...at, path, key: `chaos-${this.#runId}-${seq}`, bodyText: JSON.stringify(body), actor: options.actor ?? null,
      objectId: options.objectId ?? null, startedAtMs: Date.now(), answeredAtMs: null, answer: null,
      retry: { attempts: 0, reasons: [] }, redriven: false,
    };
    this.records.push(record);
    const answer = await sendUntilAnswered(this.fixture.apiUrl, requestFor(this.fixture, record, this.#keyTurn), this.policy, record.retry, this.signal);
    answered(record, answer);
    if (answer) this.events.emit('answer', record);
    return asBody(answer);
  }

  /** GET until 200 (null: refused, or no answer within `retryForMs`). */
  async read(path: string, retryForMs: number): Promise<Body | null> {
    const request: HttpRequest = { method: 'GET', path, headers: () => ({ authorization: `Bearer ${this.fixture.apiKeys[this.#keyTurn() % this.fixture.apiKeys.length]!}` }) };
    const answer = await sendUntilAnswered(this.fixture.apiUrl, request, { ...this.policy, retryForMs }, { attempts: 0, reasons: [] }, this.signal);
    return answer?.status === 200 ? asBody(answer) : null;
  }

  /** Polls the object until `done` (its body), or null after `waitMs`. */
  async waitFor(path: string, done: (body: Body) => boolean, waitMs: number): Promise<Body | null> {
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !this.signal.aborted) {
      const body = await this.read(path, Math.max(0, deadline - Date.now()));
      if (body && done(body)) return body;
      await sleep(250, undefined, { signal: this.signal }).catch(() => undefined);
    }
    return null;
  }
}

/** Records a record's definitive answer; a creation's 2xx names the object. */
function answered(record: RequestRecord, answer: Answer | null): void {
  if (!answer) return;
  record.answer = answer;
  record.answeredAtMs = answer.atMs;
  const id = asBody(answer)?.id;
  if (record.objectId === null && record.kind.endsWith('.create') && typeof id === 'string') record.objectId = id;
}

// ── Scenarios ───────────────────────────────────────────────────────────────────────────────

const PAYMENT_FINAL = new Set(['failed', 'reversed', 'refunded']);

async function runScenario(runner: Runner, plan: Plan, scenarioSeq: number, followUpWaitMs: number): Promise<void> {
  const at = (kind: RequestKind) => ({ kind, scenario: plan.scenario, scenarioSeq });
  const { fixture } = runner;
  switch (plan.scenario) {
    case 'transfer':
      await runner.post(at('transfer.create'), '/v1/transfers', {
        from_account_id: plan.from, to_account_id: plan.to, amount: plan.amountMinor, currency: fixture.currency,
      });
      return;
    case 'payment_auto':
    case 'payment_manual':
    case 'payment_refund':
    case 'payment_cancel':
      return paymentScenario(runner, plan, at, followUpWaitMs);
    case 'leave': {
      const created = await runner.post(at('leave.create'), '/v1/leave-requests', {
        employee_id: plan.employeeId, leave_type: fixture.hr.leaveType, start_date: plan.date, end_date: plan.date,
        ...(plan.halfDay ? { half_day: plan.halfDay } : {}),
      });
      const id = created?.id;
      if (typeof id !== 'string') return;
      // The approver decides once asked (the run has notified them).
      const notified = (b: Body) => b.status !== 'pending' || (Array.isArray(b.history) && b.history.some((e: { action?: unknown }) => e.action === 'notified'));
      const ready = notified(created!) ? created : await runner.waitFor(`/v1/leave-requests/${id}`, notified, followUpWaitMs);
      if (ready?.status !== 'pending') return;
      const manager = fixture.hr.managerId;
      await runner.post(at(plan.decision === 'approve' ? 'leave.approve' : 'leave.reject'), `/v1/leave-requests/${id}/${plan.decision}`,
        { approver_id: manager, comment: 'chaos' }, { actor: manager, objectId: id });
      return;
    }
    case 'notification':
      await runner.post(at('notification.create'), '/v1/notifications', {
        user_id: plan.userId, template_id: fixture.notifications.templateId, data: { n: plan.n },
        channels: [...fixture.notifications.channels], priority: 'high',
      });
      return;
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
    }
  }
}

async function paymentScenario(
  runner: Runner,
  plan: Extract<Plan, { payment: PaymentPlan }>,
  at: (kind: RequestKind) => { kind: RequestKind; scenario: ScenarioKind; scenarioSeq: number },
  followUpWaitMs: number,
): Promise<void> {
  const p = plan.payment;
  const created = await runner.post(at('payment.create'), '/v1/payments', {
    amount: p.amountMinor, currency: runner.fixture.currency, merchant_account_id: p.merchant,
    payment_method: p.method, capture_method: p.captureMethod,
  });
  const id = created?.id;
  if (plan.scenario === 'payment_auto' || typeof id !== 'string') return;
  const want = p.captureMethod === 'manual' ? 'authorized' : 'captured';
  const ready = (b: Body) => b.status === want || PAYMENT_FINAL.has(b.status as string) || b.status === 'settled';
  const payment = ready(created!) ? created : await runner.waitFor(`/v1/payments/${id}`, ready, followUpWaitMs);
  if (payment?.status !== want) return;
  const follow = { objectId: id };
  switch (plan.scenario) {
    case 'payment_manual':
      await runner.post(at('payment.capture'), `/v1/payments/${id}/capture`, plan.captureMinor === null ? {} : { amount: plan.captureMinor }, follow);
      return;
    case 'payment_cancel':
      await runner.post(at('payment.cancel'), `/v1/payments/${id}/cancel`, { reason: 'chaos' }, follow);
      return;
    case 'payment_refund':
      for (const amountMinor of plan.refundsMinor) {
        const refund = await runner.post(at('payment.refund'), `/v1/payments/${id}/refunds`, amountMinor === null ? {} : { amount: amountMinor }, follow);
        if (!refund) return;
      }
      return;
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown payment plan ${JSON.stringify(unreachable)}`);
    }
  }
}

// ── The workload ────────────────────────────────────────────────────────────────────────────

/**
 * Starts the load at once; `stop()` ends it. Choices are seeded, so two runs with one seed send
 * the same scenarios in the same order (what the system answers may differ).
 *
 * @example
 * const workload = startWorkload(fixture, { ratePerS: 20, seed: 7 });
 * workload.events.on('answer', (r) => { if (r.answer!.status < 300) lastSuccessAt = r.answeredAtMs; });
 * await workload.stop();
 */
export function startWorkload(fixture: Fixture, options: WorkloadOptions): Workload {
  if (!(options.ratePerS > 0)) throw new Error('ratePerS must be positive');
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.retryForMs ? { retryForMs: options.retryForMs } : {}),
  };
  const followUpWaitMs = options.followUpWaitMs ?? 120_000;
  const maxInFlight = options.maxInFlight ?? 1_000;
  const next = planner(fixture, options.seed ?? 1, { ...DEFAULT_MIX, ...options.mix });
  const cut = new AbortController(); // ends retries and waits (stop's grace is over)
  setMaxListeners(0, cut.signal); // every request in flight listens to it
  const arrivals = new AbortController(); // ends the arrival loop
  const events = new EventEmitter<WorkloadEvents>();
  const records: RequestRecord[] = [];
  const runner = new Runner(fixture, policy, cut.signal, records, events);
  const stats: WorkloadStats = { launched: 0, skipped: 0, inFlight: 0, byScenario: Object.fromEntries(SCENARIOS.map((k) => [k, 0])) as Record<ScenarioKind, number>, errors: [] };
  const running = new Set<Promise<void>>();

  const launch = (plan: Plan) => {
    const scenarioSeq = stats.launched++;
    stats.byScenario[plan.scenario]++;
    stats.inFlight++;
    const run = runScenario(runner, plan, scenarioSeq, followUpWaitMs)
      .catch((err: unknown) => {
        if (stats.errors.length < 20) stats.errors.push(`${plan.scenario} #${scenarioSeq}: ${(err as Error).message}`);
      })
      .finally(() => {
        stats.inFlight--;
        running.delete(run);
      });
    running.add(run);
  };

  const loop = (async () => {
    const t0 = performance.now();
    for (let n = 0; !arrivals.signal.aborted; n++) {
      const waitMs = t0 + (n * 1_000) / options.ratePerS - performance.now();
      if (waitMs > 0 && !(await sleep(waitMs, true, { signal: arrivals.signal }).catch(() => false))) return;
      const plan = next();
      if (plan === null || stats.inFlight >= maxInFlight) stats.skipped++;
      else launch(plan);
    }
  })();

  let stopped: Promise<void> | undefined;
  return {
    records, events, stats,
    recoveredAfter: (faultAtMs, kinds, waitMs) =>
      waitForRecovery(records, events, faultAtMs, kinds === 'all' ? undefined : kinds === 'payments' ? PAYMENT_REQUESTS : kinds, waitMs),
    stop({ graceMs = policy.retryForMs + followUpWaitMs } = {}) {
      return (stopped ??= (async () => {
        arrivals.abort();
        await loop;
        const timer = setTimeout(() => cut.abort(), graceMs);
        await Promise.all([...running]);
        clearTimeout(timer);
      })());
    },
  };
}

function waitForRecovery(
  records: readonly RequestRecord[], events: EventEmitter<WorkloadEvents>, faultAtMs: number, kinds: readonly RequestKind[] | undefined, waitMs: number,
): Promise<number | null> {
  const already = recoveryAfter(records, faultAtMs, kinds);
  if (already) return Promise.resolve(already.ms);
  return new Promise((resolve) => {
    const done = (ms: number | null) => {
      clearTimeout(timer);
      events.off('answer', onAnswer);
      resolve(ms);
    };
    const onAnswer = (r: RequestRecord) => {
      if (r.startedAtMs >= faultAtMs && isCompletion(r) && (!kinds || kinds.includes(r.kind))) done(r.answeredAtMs! - faultAtMs);
    };
    const timer = setTimeout(() => done(null), waitMs);
    events.on('answer', onAnswer);
  });
}

// ── After the load ──────────────────────────────────────────────────────────────────────────

/** One object the workload created (2xx), with the requests that acted on it. */
export interface WorkloadObject {
  kind: ObjectKind;
  id: string;
  create: RequestRecord;
  followUps: RequestRecord[];
}

const KIND_OF_CREATE = new Map(Object.entries(CREATED_BY).map(([kind, c]) => [c.kind, kind as ObjectKind]));

export const isAccepted = (record: RequestRecord): boolean => record.answer !== null && record.answer.status >= 200 && record.answer.status < 300;

/** The objects the records created (answered 2xx), by id, each with its follow-ups. */
export function objectsOf(records: readonly RequestRecord[]): Map<string, WorkloadObject> {
  const objects = new Map<string, WorkloadObject>();
  for (const record of records) {
    const kind = KIND_OF_CREATE.get(record.kind);
    if (kind && isAccepted(record) && record.objectId) objects.set(record.objectId, { kind, id: record.objectId, create: record, followUps: [] });
  }
  for (const record of records) {
    if (!KIND_OF_CREATE.has(record.kind) && record.objectId) objects.get(record.objectId)?.followUps.push(record);
  }
  return objects;
}

const FINAL_DELIVERY = new Set(['sent', 'failed', 'dead_lettered', 'skipped_opt_out', 'skipped_no_contact', 'cancelled']);

/**
 * Where the workload leaves an object once the system has caught up: its final state, or the
 * state it waits in by design (a captured payment waits for settlement and refunds; a manual
 * authorization or a leave request nobody acted on waits for a decision).
 */
export function isAtRest(object: WorkloadObject, body: Body): boolean {
  const acted = (...kinds: RequestKind[]) => object.followUps.some((r) => kinds.includes(r.kind) && isAccepted(r));
  switch (object.kind) {
    case 'transfer':
      return body.status !== 'pending';
    case 'payment':
      if (body.status === 'initiated') return false;
      return body.status !== 'authorized' || (body.capture_method === 'manual' && !acted('payment.capture', 'payment.cancel'));
    case 'leave_request':
      return body.status !== 'pending' || !acted('leave.approve', 'leave.reject');
    case 'notification':
      return (body.status === 'completed' || body.status === 'cancelled')
        && (body.deliveries as { status: string }[]).every((d) => FINAL_DELIVERY.has(d.status));
    default: {
      const unreachable: never = object.kind;
      throw new Error(`unknown object kind ${String(unreachable)}`);
    }
  }
}

export interface DrainOptions {
  timeoutMs: number;
  retry?: Partial<RetryPolicy>;
  /** Objects read at once. */
  concurrency?: number;
}

export interface Unsettled {
  kind: ObjectKind | RequestKind;
  id: string;
  /** The object's last status seen, or `unanswered` for a request that never got an answer. */
  status: string;
}

/**
 * After `workload.stop()`: first sends every request that never got an answer again (same key,
 * same body, as a careful client would), then reads every object the workload created until it is
 * at rest (`isAtRest`). Returns what is still not, after `timeoutMs` in all. Fills in the records
 * it re-drove (`redriven`).
 */
export async function drain(fixture: Fixture, records: RequestRecord[], options: DrainOptions): Promise<Unsettled[]> {
  const deadline = Date.now() + options.timeoutMs;
  const concurrency = options.concurrency ?? 16;
  const policyUntil = (): RetryPolicy => ({ ...DEFAULT_RETRY_POLICY, ...options.retry, retryForMs: Math.max(0, deadline - Date.now()) });
  const keyTurn = keyTurns();
  const unanswered = records.filter((r) => r.answer === null);
  await mapLimit(unanswered, concurrency, async (record) => {
    const answer = await sendUntilAnswered(fixture.apiUrl, requestFor(fixture, record, keyTurn), policyUntil(), record.retry);
    if (answer) record.redriven = true;
    answered(record, answer);
  });
  const left: Unsettled[] = records.filter((r) => r.answer === null).map((r) => ({ kind: r.kind, id: r.key, status: 'unanswered' }));

  const read = async (path: string): Promise<Body | null> => {
    const answer = await sendUntilAnswered(fixture.apiUrl, {
      method: 'GET', path, headers: () => ({ authorization: `Bearer ${fixture.apiKeys[keyTurn() % fixture.apiKeys.length]!}` }),
    }, { ...policyUntil(), retryForMs: Math.min(10_000, Math.max(0, deadline - Date.now())) }, { attempts: 0, reasons: [] });
    return answer?.status === 200 ? asBody(answer) : null;
  };
  const objects = [...objectsOf(records).values()];
  const results = await mapLimit(objects, concurrency, async (object): Promise<Unsettled | null> => {
    let status = 'unread';
    do {
      const body = await read(`${CREATED_BY[object.kind].path}/${object.id}`);
      if (body) {
        if (isAtRest(object, body)) return null;
        status = String(body.status);
      }
      await sleep(500);
    } while (Date.now() < deadline);
    return { kind: object.kind, id: object.id, status };
  });
  return [...left, ...results.filter((r): r is Unsettled => r !== null)];
}

/**
 * An answer that shows the work done, not only acknowledged: a 202 (`pending`: the workflow did not
 * finish in the API's wait window) or a leave request whose approver was not asked yet proves
 * little about workers, Temporal or processors; a notification is always 202 (never counted).
 */
export function isCompletion(record: RequestRecord): boolean {
  if (!isAccepted(record) || record.answer!.status === 202) return false;
  if (record.kind !== 'leave.create') return true;
  const body = record.answer!.body as { status?: unknown; history?: { action?: unknown }[] };
  return body.status !== 'pending' || (Array.isArray(body.history) && body.history.some((e) => e.action === 'notified'));
}

/**
 * RTO of a fault: ms from `faultAtMs` to the first completion (`isCompletion`) of a request started
 * at or after it (of `kinds`, when given); null when none came.
 */
export function recoveryAfter(records: readonly RequestRecord[], faultAtMs: number, kinds?: readonly RequestKind[]): { ms: number; record: RequestRecord } | null {
  let best: RequestRecord | null = null;
  for (const r of records) {
    if (r.startedAtMs < faultAtMs || !isCompletion(r) || r.redriven || (kinds && !kinds.includes(r.kind))) continue;
    if (!best || r.answeredAtMs! < best.answeredAtMs!) best = r;
  }
  return best ? { ms: best.answeredAtMs! - faultAtMs, record: best } : null;
}

export interface KindSummary {
  requests: number;
  accepted: number;
  refused: number;
  unanswered: number;
  /** Requests that needed more than one attempt. */
  retried: number;
  maxAttempts: number;
  /** Of the accepted, ms from first attempt to answer. */
  p50Ms: number | null;
  p99Ms: number | null;
}

/** Per request kind: how the requests fared (for the suite's figures). */
export function summarize(records: readonly RequestRecord[]): Partial<Record<RequestKind, KindSummary>> {
  const byKind = new Map<RequestKind, RequestRecord[]>();
  for (const r of records) {
    const list = byKind.get(r.kind);
    if (list) list.push(r);
    else byKind.set(r.kind, [r]);
  }
  const out: Partial<Record<RequestKind, KindSummary>> = {};
  for (const [kind, list] of byKind) {
    const latencies = list.filter(isAccepted).map((r) => r.answeredAtMs! - r.startedAtMs).sort((a, b) => a - b);
    const at = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]! : null);
    out[kind] = {
      requests: list.length,
      accepted: latencies.length,
      refused: list.filter((r) => r.answer !== null && r.answer.status >= 400).length,
      unanswered: list.filter((r) => r.answer === null).length,
      retried: list.filter((r) => r.retry.attempts > 1).length,
      maxAttempts: Math.max(0, ...list.map((r) => r.retry.attempts)),
      p50Ms: at(0.5),
      p99Ms: at(0.99),
    };
  }
  return out;
}
