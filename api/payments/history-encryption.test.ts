import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadCodecOf } from '../../platform/payload-codec.js';
import { addDays, nthMonday, utcYear } from '../../test/calendar.js';
import { actorHeaders, createAccount, startHarness, type Harness } from '../../test/harness.js';
import { workflowContracts, workflowIdOf } from '../../workflows/contracts.js';

/**
 * Issue #13: what Temporal stores holds no token, name, e-mail or free text. The raw history is
 * read with a client that has NO payload codec (what anyone with access to Temporal sees: the CLI,
 * the UI without the codec endpoint, the gRPC API); the app's own client (with the codec) still
 * reads every payload.
 */

const TOKEN = 'tok_mastercard';
const NAME = 'Ada Lovelace-Byron';
const EMAIL = 'ada.hist@example.com';
const REASON = 'Hospital appointment for my daughter';
const COMMENT = 'Get well soon, Ada';

let h: Harness;
let rawConnection: Connection;
let raw: Client;
beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '15000' } });
  rawConnection = await Connection.connect({ address: h.config.TEMPORAL_ADDRESS });
  raw = new Client({ connection: rawConnection, namespace: h.config.TEMPORAL_NAMESPACE }); // no codec
});
afterAll(async () => {
  await rawConnection?.close();
  await h?.close();
});

/** The whole raw history as JSON text (every event, every payload as stored), and its events. */
async function rawHistory(workflowId: string) {
  const history = await raw.workflow.getHandle(workflowId).fetchHistory();
  const json = historyToJSON(history);
  return { json, events: history.events ?? [] };
}

/** Every string a payload of the history could carry, base64 included (how JSON shows bytes). */
function expectAbsent(json: string, secrets: string[]) {
  // Bytes are base64 in the JSON: every base64 string decoded too (payload data and metadata).
  const dataBlobs = [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('latin1'));
  const allBase64 = [...json.matchAll(/"([A-Za-z0-9+/]{8,}={0,2})"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('latin1'));
  const everything = [json, ...allBase64].join('\n');
  for (const secret of secrets) expect(everything, secret).not.toContain(secret);
  return dataBlobs.length;
}

/**
 * Search attributes set by the run: TenantId and BusinessStatus, ids and statuses only, and
 * TemporalChangeVersion (the SDK's own: the ids of the patches the run took, e.g. `local-steps`).
 */
function searchAttributesOf(events: Awaited<ReturnType<typeof rawHistory>>['events']) {
  const fields = events.flatMap((e) => [
    e.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields,
    e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields,
  ]).filter((f) => f != null);
  return fields.flatMap((f) => Object.entries(f!).map(([name, payload]) => [name, defaultPayloadConverter.fromPayload(payload)] as const));
}

describe('payload encryption in the raw history', () => {
  it('a card payment: no token, description, name or e-mail; the codec client decodes the input', async () => {
    const tenant = await h.newTenant();
    const merchant = await createAccount(tenant.call, { type: 'merchant' });
    const created = await tenant.call('POST', '/v1/payments', {
      body: {
        amount: 1_250, currency: 'USD', merchant_account_id: merchant, capture_method: 'manual',
        payment_method: { type: 'card', token: TOKEN }, description: `Order for ${NAME}`, metadata: { email: EMAIL },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('authorized');
    const workflowId = workflowIdOf(workflowContracts.paymentSaga, created.body.id);
    const cancelled = await tenant.call('POST', `/v1/payments/${created.body.id}/cancel`, { body: { reason: `Customer ${NAME} changed mind` } });
    expect(cancelled.status).toBeLessThan(300);

    const { json, events } = await rawHistory(workflowId);
    expect(expectAbsent(json, [TOKEN, NAME, EMAIL, 'Customer', 'changed mind'])).toBeGreaterThan(0);
    const input = events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    expect(Buffer.from(input.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(input.metadata!['encryption-key-id']!).toString()).toBe(h.config.TEMPORAL_PAYLOAD_KEYS[0]!.id);

    // The app's client (with the codec) reads the same payload.
    const decoded = defaultPayloadConverter.fromPayload<{ paymentMethod: { token: string } }>(payloadCodecOf(h.config).decodePayload(input));
    expect(decoded.paymentMethod.token).toBe(TOKEN);

    // The saga's steps are local activities (issue #14): their results are in markers, encrypted too.
    const markerPayloads = events.flatMap((e) => e.markerRecordedEventAttributes?.details?.result?.payloads ?? []);
    expect(markerPayloads.length).toBeGreaterThan(0);
    for (const payload of markerPayloads) expect(Buffer.from(payload.metadata!.encoding!).toString()).toBe('binary/encrypted');

    const attributes = searchAttributesOf(events);
    expect(new Set(attributes.map(([name]) => name))).toEqual(new Set(['TenantId', 'BusinessStatus', 'TemporalChangeVersion']));
    for (const [name, value] of attributes) {
      const v = Array.isArray(value) ? value[0] : value;
      if (name === 'TenantId') expect(v).toBe(tenant.id);
      else expect(v).toMatch(/^[a-z_-]+$/);
    }
  });

  it('a leave request: no reason, comment, name or e-mail; an Update result read through the codec', async () => {
    const tenant = await h.newTenant();
    const call = tenant.call;
    const year = utcYear() + 1;
    expect((await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave' } })).status).toBe(201);
    const employee = async (first: string, last: string, email: string, managerId?: string) => {
      const res = await call('POST', '/v1/employees', {
        body: {
          employee_number: `E-${email}`, first_name: first, last_name: last, email, department: 'Engineering', hire_date: '2020-01-15',
          ...(managerId ? { manager_id: managerId } : {}),
        },
      });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const manager = await employee('Grace', 'Hopper-Hist', 'grace.hist@example.com');
    const worker = await employee('Ada', 'Lovelace-Byron', EMAIL, manager);
    expect((await call('POST', `/v1/employees/${worker}/leave-allocations`, { body: { leave_type: 'annual', year, days: 10 } })).status).toBe(201);
    const start = addDays(nthMonday(year, 10), 0);
    const res = await call('POST', '/v1/leave-requests', {
      body: { employee_id: worker, leave_type: 'annual', start_date: start, end_date: addDays(nthMonday(year, 10), 1), reason: REASON },
    });
    expect(res.status).toBe(201);
    const approved = await call('POST', `/v1/leave-requests/${res.body.id}/approve`, {
      body: { approver_id: manager, comment: COMMENT }, headers: await actorHeaders(tenant, manager),
    });
    expect(approved.status).toBe(200);

    const { json, events } = await rawHistory(workflowIdOf(workflowContracts.leaveApproval, res.body.id));
    expect(expectAbsent(json, [REASON, COMMENT, 'Lovelace', 'Hopper', EMAIL, 'grace.hist'])).toBeGreaterThan(0);
    const payloads = events.flatMap((e) => [
      ...(e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []),
      ...(e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads ?? []),
      ...(e.activityTaskScheduledEventAttributes?.input?.payloads ?? []),
      ...(e.activityTaskCompletedEventAttributes?.result?.payloads ?? []),
      ...(e.markerRecordedEventAttributes?.details?.result?.payloads ?? []), // local activities' results
    ]);
    expect(payloads.length).toBeGreaterThan(2);
    for (const payload of payloads) expect(Buffer.from(payload.metadata!.encoding!).toString()).toBe('binary/encrypted');
    const update = events.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes)!;
    const args = update.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!.args!.payloads!;
    expect(defaultPayloadConverter.fromPayload(payloadCodecOf(h.config).decodePayload(args[0]!))).toMatchObject({ comment: COMMENT });
    for (const [name] of searchAttributesOf(events)) expect(['TenantId', 'BusinessStatus', 'TemporalChangeVersion']).toContain(name);
  });
});
