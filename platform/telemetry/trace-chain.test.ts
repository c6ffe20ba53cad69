import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, startHarness, testConfig, type Call, type Harness } from '../../test/harness.js';
import { startTracing, type Tracing } from './tracing.js';

/**
 * Issue #16: one trace from `POST /v1/payments` to the ledger. The real app in process, a real
 * worker with the interceptors and THE workflow bundle (test/global-setup.ts), the dev server, the
 * processors simulator over HTTP, PostgreSQL; the spans land in an in-memory exporter registered
 * as this process's tracing (the worker's workflow span sink feeds it too).
 */

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let h: Harness;
let call: Call;
let merchant: string;

beforeAll(async () => {
  tracing = startTracing(testConfig(), { serviceName: 'steadfast-test', exporter });
  // A short refund window: the captured payment's saga ends, so its RunWorkflow span ends and is exported.
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '20000', REFUND_WINDOW: '1s' }, tracing });
  const tenant = await h.newTenant();
  call = tenant.call;
  merchant = await createAccount(call, { type: 'merchant' });
});
afterAll(async () => {
  await h?.close();
  await tracing?.shutdown();
});

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

/** The trace's spans by id, and a span's chain of ancestors (itself first, up to the root). */
function traceOf(traceId: string) {
  const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const named = (name: string) => spans.filter((s) => s.name === name);
  const one = (name: string) => {
    const found = named(name);
    expect(found.map((s) => s.name), `exactly one ${name}`).toEqual([name]);
    return found[0]!;
  };
  const chain = (span: ReadableSpan): string[] => {
    const names: string[] = [];
    for (let at: ReadableSpan | undefined = span; at; at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined) names.push(at.name);
    return names;
  };
  const parentOf = (span: ReadableSpan) => (span.parentSpanId ? byId.get(span.parentSpanId) : undefined);
  return { spans, named, one, chain, parentOf };
}

describe('traces: POST /v1/payments to the ledger', () => {
  it('one trace: API span → UpdateWithStart → RunWorkflow → StartActivity → RunActivity → processor HTTP call and SQL; its id in Request-Id and traceparent', async () => {
    const res = await call('POST', '/v1/payments', {
      body: { amount: 1_250, currency: 'USD', merchant_account_id: merchant, payment_method: { type: 'card', token: 'tok_visa' } },
    });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('captured');
    const [, traceId, serverSpanId] = TRACEPARENT.exec(res.headers.get('traceparent') ?? '') ?? [];
    expect(traceId, 'a W3C traceparent answered').toBeDefined();
    expect(res.headers.get('request-id')).toBe(traceId);

    // The saga closes after the refund window; its spans come through the sink as it ends.
    await h.temporal.workflow.getHandle(`payment-${res.body.id}`).result();
    await expect.poll(() => traceOf(traceId!).named('RunWorkflow:paymentSaga').length, { timeout: 10_000 }).toBe(1);
    const t = traceOf(traceId!);

    const server = t.one('POST /v1/payments');
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(server.spanContext().spanId).toBe(serverSpanId);
    expect(server.parentSpanId).toBeUndefined(); // no traceparent was sent: the trace starts here
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v1/payments', 'http.response.status_code': 201 });
    expect(server.resource.attributes['service.name']).toBe('steadfast-test');

    const start = t.one('UpdateWithStartWorkflow:untilAnswered');
    expect(t.parentOf(start)).toBe(server);
    expect(start.attributes.temporalWorkflowId).toBe(`payment-${res.body.id}`);
    const run = t.one('RunWorkflow:paymentSaga');
    expect(t.parentOf(run)).toBe(start);
    // The sink's spans keep the workflow's ids, not its payload data.
    expect(run.attributes).toMatchObject({ workflowId: `payment-${res.body.id}`, workflowType: 'paymentSaga' });
    expect(Object.keys(run.attributes)).not.toEqual(expect.arrayContaining(['memo']));
    expect(Object.values(run.attributes).every((v) => typeof v !== 'object' || Array.isArray(v))).toBe(true);

    for (const activity of ['authorizePayment', 'capturePayment']) {
      const runActivity = t.one(`RunActivity:${activity}`);
      expect(t.chain(runActivity)).toEqual([`RunActivity:${activity}`, `StartActivity:${activity}`, 'RunWorkflow:paymentSaga', start.name, server.name]);
      expect(runActivity.attributes.temporalWorkflowId).toBe(`payment-${res.body.id}`);
    }

    // The processor calls (global fetch, undici instrumentation) inside their activities.
    const calls = t.spans.filter((s) => s.kind === SpanKind.CLIENT && s.attributes['url.full'] !== undefined);
    const authorizeCall = calls.find((s) => t.chain(s).includes('RunActivity:authorizePayment'));
    expect(authorizeCall, 'the authorization request to the processor').toBeDefined();
    expect(authorizeCall!.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });
    expect(String(authorizeCall!.attributes['url.full'])).toMatch(/\/processors\/acq_primary\/authorizations$/);
    expect(calls.find((s) => t.chain(s).includes('RunActivity:capturePayment'))).toBeDefined();
    for (const c of calls) expect(c.attributes).not.toHaveProperty('url.query');

    // SQL (pg instrumentation): the API's own statements, and the ledger write of the capture.
    const sql = t.spans.filter((s) => s.attributes['db.system'] === 'postgresql' && s.attributes['db.statement'] !== undefined);
    expect(sql.some((s) => t.parentOf(s) === server)).toBe(true);
    const ledger = sql.filter((s) => t.chain(s).includes('RunActivity:capturePayment'));
    expect(ledger.map((s) => String(s.attributes['db.statement']))).toEqual(expect.arrayContaining([expect.stringMatching(/ledger_entries/)]));
    // Statements as written: the values are parameters, never in the span.
    expect(JSON.stringify(sql.map((s) => s.attributes))).not.toContain(res.body.id);

    // Every span of the request is in this one trace, and the trace has nothing from elsewhere.
    expect(t.spans.every((s) => t.chain(s).at(-1) === server.name)).toBe(true);
  });

  it('continues a caller\'s traceparent: same trace id, the server span a child of the caller\'s span; Request-Id stays its own', async () => {
    const callerTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';
    const res = await call('GET', `/v1/accounts/${merchant}`, { headers: { traceparent: `00-${callerTraceId}-${callerSpanId}-01` } });
    expect(res.status).toBe(200);
    const [, traceId, serverSpanId] = TRACEPARENT.exec(res.headers.get('traceparent') ?? '') ?? [];
    expect(traceId).toBe(callerTraceId);
    expect(serverSpanId).not.toBe(callerSpanId);
    // The caller's trace may span many requests; a Request-Id names one.
    expect(res.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const server = traceOf(callerTraceId).one('GET /v1/accounts/:id');
    expect(server.parentSpanId).toBe(callerSpanId);
    expect(server.spanContext().spanId).toBe(serverSpanId);
    // The route pattern, never the raw path (it holds the client's ids).
    expect(JSON.stringify({ name: server.name, attributes: server.attributes })).not.toContain(merchant);
  });

  it('probes and scrapes make no trace', async () => {
    const before = exporter.getFinishedSpans().length;
    const res = await h.app.request('/healthz');
    expect(res.status).toBe(200);
    expect(res.headers.get('traceparent')).toBeNull();
    expect(exporter.getFinishedSpans().slice(before).map((s) => s.name)).toEqual([]);
  });
});
