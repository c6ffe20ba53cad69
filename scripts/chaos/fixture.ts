import { randomInt, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_RETRY_POLICY, sendUntilAnswered, type Answer, type RetryPolicy } from './http.js';

/**
 * What the chaos workload runs against, set up over the public HTTP API only: a tenant of its own
 * (admin API) with a few API keys (rate limits are per key), funded user wallets, merchants, a
 * manager with reports who have leave to take, and notification recipients with phones.
 */
export interface Fixture {
  apiUrl: string;
  tenantId: string;
  /** The tenant's keys; requests take turns (the default policy allows 100 requests/s per key). */
  apiKeys: string[];
  /** Signs `Steadfast-Actor` tokens (leave decisions). */
  signingKey: { keyId: string; secret: string };
  currency: string;
  /** User wallets and what their top-ups credited. */
  users: { id: string; fundedMinor: number }[];
  merchants: string[];
  hr: { leaveType: string; managerId: string; employeeIds: string[]; years: number[] };
  notifications: { templateId: string; channels: readonly ['in_app', 'sms']; recipients: { userId: string; phone: string }[] };
}

export interface PrepareOptions {
  /** The API, through the load balancer. */
  apiUrl: string;
  adminKey: string;
  name?: string;
  apiKeys?: number;
  users?: number;
  fundMinor?: number;
  merchants?: number;
  employees?: number;
  /** Past years whose leave the employees take (each has ~260 working days per employee). */
  leaveYears?: number;
  recipients?: number;
  retry?: Partial<RetryPolicy>;
}

const CURRENCY = 'USD';
const TOPUP_WAIT_MS = 120_000;

class SetupFailure extends Error {
  override name = 'SetupFailure';
}

/** One setup call with its own Idempotency-Key, retried like the workload's; insists on `status`. */
function setupCaller(apiUrl: string, policy: RetryPolicy, runId: string) {
  let n = 0;
  return async function call(
    key: string, method: 'GET' | 'POST' | 'PUT', path: string, status: number | readonly number[], body?: unknown,
  ): Promise<Answer> {
    const request = {
      method, path, headers: () => ({ authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { bodyText: JSON.stringify(body) }),
      ...(method === 'POST' ? { idempotencyKey: `chaos-setup-${runId}-${++n}` } : {}),
    };
    const answer = await sendUntilAnswered(apiUrl, request, policy, { attempts: 0, reasons: [] });
    if (!answer) throw new SetupFailure(`${method} ${path}: no answer within ${policy.retryForMs} ms`);
    if (!(typeof status === 'number' ? [status] : status).includes(answer.status)) throw new SetupFailure(`${method} ${path} answered ${answer.status}: ${answer.text.slice(0, 500)}`);
    return answer;
  };
}

const field = (answer: Answer, name: string): string => {
  const value = (answer.body as Record<string, unknown> | null)?.[name];
  if (typeof value !== 'string') throw new SetupFailure(`answer without ${name}: ${answer.text.slice(0, 300)}`);
  return value;
};

/**
 * A secret is shown once: a creation whose first answer was lost comes back (replayed) with the
 * secret null. Then another one is created.
 */
async function withSecret(create: () => Promise<Answer>, name: string): Promise<Answer> {
  for (let i = 0; i < 3; i++) {
    const answer = await create();
    if (typeof (answer.body as Record<string, unknown>)[name] === 'string') return answer;
  }
  throw new SetupFailure(`three creations in a row came back without their ${name}`);
}

/** Weekdays (Mon–Fri, UTC) of `year`, as YYYY-MM-DD. */
export function weekdaysOf(year: number): string[] {
  const days: string[] = [];
  for (let t = Date.UTC(year, 0, 1); new Date(t).getUTCFullYear() === year; t += 86_400_000) {
    const weekday = new Date(t).getUTCDay();
    if (weekday !== 0 && weekday !== 6) days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/**
 * Sets up a fixture over HTTP (see `Fixture`). Takes a few seconds: the top-ups run their workflows.
 *
 * @example const fixture = await prepareWorkload({ apiUrl: 'http://127.0.0.1:8080', adminKey });
 */
export async function prepareWorkload(options: PrepareOptions): Promise<Fixture> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const runId = randomUUID().slice(0, 8);
  const call = setupCaller(options.apiUrl, policy, runId);
  const tenant = await withSecret(() => call(options.adminKey, 'POST', '/v1/admin/tenants', 201, { name: options.name ?? `Chaos ${runId}` }), 'api_key');
  const tenantId = field(tenant, 'id');
  const apiKeys = [field(tenant, 'api_key')];
  for (let i = 1; i < (options.apiKeys ?? 4); i++) {
    apiKeys.push(field(await withSecret(() => call(options.adminKey, 'POST', `/v1/admin/tenants/${tenantId}/api-keys`, 201), 'key'), 'key'));
  }
  const key = apiKeys[0]!;
  const signing = await withSecret(() => call(key, 'POST', '/v1/actor-signing-keys', 201), 'secret');

  const [users, merchants, hr, notifications] = await Promise.all([
    fundedUsers(call, key, options.users ?? 8, options.fundMinor ?? 10_000_000),
    Promise.all(Array.from({ length: options.merchants ?? 2 }, async () =>
      field(await call(key, 'POST', '/v1/accounts', 201, { type: 'merchant', currency: CURRENCY }), 'id'))),
    company(call, key, runId, options.employees ?? 8, options.leaveYears ?? 3),
    recipients(call, key, runId, options.recipients ?? 8),
  ]);
  return {
    apiUrl: options.apiUrl, tenantId, apiKeys, signingKey: { keyId: field(signing, 'id'), secret: field(signing, 'secret') },
    currency: CURRENCY, users, merchants, hr, notifications,
  };
}

type SetupCall = ReturnType<typeof setupCaller>;

async function fundedUsers(call: SetupCall, key: string, count: number, fundMinor: number): Promise<Fixture['users']> {
  return Promise.all(Array.from({ length: count }, async () => {
    const id = field(await call(key, 'POST', '/v1/accounts', 201, { type: 'user', currency: CURRENCY }), 'id');
    const topup = await call(key, 'POST', '/v1/topups', [201, 202], {
      account_id: id, amount: fundMinor, currency: CURRENCY, source: { type: 'bank_account', token: 'btok_success' },
    });
    if (field(topup, 'status') !== 'succeeded') await topupSucceeded(call, key, field(topup, 'id'));
    return { id, fundedMinor: fundMinor };
  }));
}

async function topupSucceeded(call: SetupCall, key: string, id: string): Promise<void> {
  const deadline = Date.now() + TOPUP_WAIT_MS;
  while (Date.now() < deadline) {
    const status = field(await call(key, 'GET', `/v1/topups/${id}`, 200), 'status');
    if (status === 'succeeded') return;
    if (status !== 'pending') throw new SetupFailure(`top-up ${id} ended ${status}`);
    await sleep(200);
  }
  throw new SetupFailure(`top-up ${id} still pending after ${TOPUP_WAIT_MS} ms`);
}

/** A manager (no manager: approves, never asks) and reports with a full year of leave for each past year. */
async function company(call: SetupCall, key: string, runId: string, employees: number, leaveYears: number): Promise<Fixture['hr']> {
  const leaveType = 'annual';
  await call(key, 'POST', '/v1/leave-types', 201, { code: leaveType, name: 'Annual leave', allow_half_day: true });
  const employee = async (n: number, managerId?: string) => field(await call(key, 'POST', '/v1/employees', 201, {
    employee_number: `C-${runId}-${n}`, first_name: n === 0 ? 'Grace' : 'Ada', last_name: `Chaos ${n}`,
    email: `chaos-${runId}-${n}@example.com`, department: 'Chaos', hire_date: '2010-01-04',
    ...(managerId ? { manager_id: managerId } : {}),
  }), 'id');
  const managerId = await employee(0);
  const employeeIds = await Promise.all(Array.from({ length: employees }, (_, i) => employee(i + 1, managerId)));
  const thisYear = new Date().getUTCFullYear();
  const years = Array.from({ length: leaveYears }, (_, i) => thisYear - leaveYears + i);
  await Promise.all(employeeIds.flatMap((id) => years.map((year) =>
    call(key, 'POST', `/v1/employees/${id}/leave-allocations`, 201, { leave_type: leaveType, year, days: 366 }))));
  return { leaveType, managerId, employeeIds, years };
}

/** Users with a phone each (unique per fixture: the SMS provider's books are matched by number). */
async function recipients(call: SetupCall, key: string, runId: string, count: number): Promise<Fixture['notifications']> {
  const templateId = 'chaos.ping';
  await call(key, 'POST', '/v1/notification-templates', 201, {
    id: templateId, channels: { in_app: { title: 'Chaos {{n}}', body: 'Ping {{n}}' }, sms: { body: 'Chaos ping {{n}}' } },
  });
  const base = randomInt(1_000_000, 9_000_000) * 100;
  const list = Array.from({ length: count }, (_, i) => ({ userId: `chaos-${runId}-u${i}`, phone: `+1555${base + i}` }));
  await Promise.all(list.map((r) => call(key, 'PUT', `/v1/users/${encodeURIComponent(r.userId)}/contacts`, 200, { phone: r.phone })));
  return { templateId, channels: ['in_app', 'sms'], recipients: list };
}
