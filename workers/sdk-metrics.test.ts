import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsRegistry } from '../platform/metrics.js';
import { freePort } from '../platform/temporal-dev-server.js';
import { eventually } from '../test/eventually.js';
import { createAccount, startHarness, type Harness } from '../test/harness.js';
import { spawnWorkerProcess, type CrashableProcess } from '../test/worker-process.js';

/**
 * The worker process (`workers/main.ts`, as deployed) with its /metrics on. Through it run: a
 * funded top-up and a transfer, a declined top-up (a failed activity), a transfer without funds (a
 * failed local activity), a manual-capture payment cancelled by ops (a cancelled run) and a run of a
 * type this build does not know (failing workflow tasks). One scrape of its /metrics must then carry
 * ours and the SDK's; the Grafana dashboards may only query metrics (and labels) found in the two.
 */
let h: Harness;
let worker: CrashableProcess;
let scrape: string;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  worker = spawnWorkerProcess(h, { WORKER_METRICS_PORT: String(await freePort()) });
  try {
    await worker.ready();
    const url = await metricsUrlOf(worker);
    await runThroughWorker(h);
    const unknown = await h.temporal.workflow.start('noSuchWorkflow', {
      taskQueue: h.config.TASK_QUEUE_WALLET, workflowId: `no-such-workflow-${Date.now()}`, args: [],
    });
    try {
      // Its failed task is counted, then the run is evicted from the cache (a forced eviction).
      const failedAndEvicted = (text: string) => samplesOf(text).some((s) => s.labels.workflow_type === 'noSuchWorkflow')
        && samplesOf(text).some((s) => s.name === 'temporal_sticky_cache_total_forced_eviction_total' && s.value > 0);
      scrape = await eventually(async () => {
        worker.assertAlive();
        return (await fetch(url)).text();
      }, failedAndEvicted, { timeoutMs: 30_000, intervalMs: 200 });
    } finally {
      await unknown.terminate('test over');
    }
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- worker process output ---\n${worker.output()}`, { cause: err });
  }
});

afterAll(async () => {
  await worker?.kill();
  await h?.close();
});

/** The worker's metrics URL, from its start-up log line (`{"url":…,"msg":"metrics served …"}`). */
const METRICS_LINE = /"url":"([^"]+)","msg":"metrics served/;
async function metricsUrlOf(process: CrashableProcess): Promise<string> {
  const output = await eventually(() => {
    process.assertAlive();
    return process.output();
  }, (text) => METRICS_LINE.test(text), { timeoutMs: 30_000, intervalMs: 100 });
  return METRICS_LINE.exec(output)![1]!;
}

/** Every run the scrape is checked for; each waited for until it closed. */
async function runThroughWorker(harness: Harness): Promise<void> {
  const tenant = await harness.newTenant();
  const from = await createAccount(tenant.call, { fundMinor: 10_000 });
  const to = await createAccount(tenant.call);
  const merchant = await createAccount(tenant.call, { type: 'merchant' });
  const transfer = (amount: number) => tenant.call('POST', '/v1/transfers', {
    body: { from_account_id: from, to_account_id: to, amount, currency: 'USD' },
  });
  const declined = await tenant.call('POST', '/v1/topups', {
    body: { account_id: to, amount: 500, currency: 'USD', source: { type: 'bank_account', token: 'btok_insufficient_funds' } },
  });
  const payment = await tenant.call('POST', '/v1/payments', {
    body: { amount: 1_000, currency: 'USD', merchant_account_id: merchant, capture_method: 'manual', payment_method: { type: 'card', token: 'tok_visa' } },
  });
  const runs = [
    `transfer-${(await transfer(4_000)).body.id as string}`,
    `transfer-${(await transfer(999_999)).body.id as string}`,
    `topup-${declined.body.id as string}`,
  ];
  for (const workflowId of runs) await harness.temporal.workflow.getHandle(workflowId).result();
  const paymentRun = harness.temporal.workflow.getHandle(`payment-${payment.body.id as string}`);
  await eventually(async () => (await harness.pool.query('SELECT status FROM payments WHERE id = $1', [payment.body.id])).rows[0].status,
    (status) => status === 'authorized', { timeoutMs: 30_000, intervalMs: 100 });
  expect((await harness.admin('POST', `/v1/ops/workflows/${paymentRun.workflowId}/cancel`)).status).toBe(200);
  await expect(paymentRun.result()).rejects.toThrow(/cancel/i);
}

interface Sample { name: string; labels: Record<string, string>; value: number }

/** The samples of a Prometheus text exposition (comments skipped). */
function samplesOf(text: string): Sample[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => {
    const [, name, body = '', value] = /^([^{\s]+)(?:\{(.*)\})? (\S+)$/.exec(line)!;
    const labels = Object.fromEntries([...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    return { name: name!, labels, value: Number(value) };
  });
}

/** The one sample of `name` whose labels include `labels`. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(found.length, `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

describe('the worker process\'s /metrics', () => {
  it('carries ours and the SDK\'s temporal_* metrics, in one scrape', () => {
    const samples = samplesOf(scrape);
    const wallet = { task_queue: h.config.TASK_QUEUE_WALLET };
    // Ours: what only the worker sets (its processors' breakers), and no failed SDK scrape.
    expect(valueOf(samples, 'steadfast_circuit_breaker_state', { breaker: 'acq_primary' })).toBe(0);
    expect(valueOf(samples, 'steadfast_sdk_metrics_scrape_failures_total', {})).toBe(0);
    // The hand-off histogram, in seconds, with buckets fine enough for a 30–40 ms hand-off.
    const handOff = 'temporal_workflow_task_schedule_to_start_latency_seconds';
    expect(valueOf(samples, `${handOff}_count`, wallet)).toBeGreaterThanOrEqual(3);
    expect(valueOf(samples, `${handOff}_bucket`, { ...wallet, le: '0.025' })).toBeDefined();
    expect(valueOf(samples, `${handOff}_bucket`, { ...wallet, le: '+Inf' })).toBe(valueOf(samples, `${handOff}_count`, wallet));
    // Counters that moved, one per run that closed in the worker.
    expect(valueOf(samples, 'temporal_workflow_completed_total', { ...wallet, workflow_type: 'p2pTransfer' })).toBe(2);
    expect(valueOf(samples, 'temporal_workflow_completed_total', { ...wallet, workflow_type: 'topUp' })).toBe(2);
    expect(valueOf(samples, 'temporal_workflow_canceled_total', { workflow_type: 'paymentSaga' })).toBe(1);
    expect(valueOf(samples, 'temporal_activity_execution_failed_total', { ...wallet, activity_type: 'pullFromBank' })).toBe(1);
    expect(valueOf(samples, 'temporal_local_activity_execution_failed_total', { ...wallet, activity_type: 'placeTransferHold' })).toBe(1);
    expect(valueOf(samples, 'temporal_workflow_task_execution_failed_total', { ...wallet, workflow_type: 'noSuchWorkflow' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'temporal_worker_task_slots_available', { ...wallet, worker_type: 'WorkflowWorker' })).toBeGreaterThan(0);
  });

  it('declares every metric family once, and every sample belongs to one (else Prometheus drops the scrape)', () => {
    const declared = [...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]!);
    expect(declared.length).toBe(new Set(declared).size);
    const families = new Set(declared);
    const orphans = samplesOf(scrape).map((s) => s.name)
      .filter((name) => !families.has(name) && !families.has(name.replace(/_(bucket|sum|count)$/, '')));
    expect(orphans).toEqual([]);
  });
});

/** Metric name → the label names its samples may carry (Prometheus adds `instance` and `job`). */
type KnownMetrics = Map<string, Set<string>>;

/** Ours, from the registry (observed or not), and the SDK's, from the live scrape. */
async function knownMetrics(): Promise<KnownMetrics> {
  const known: KnownMetrics = new Map();
  for (const { name, type } of await metricsRegistry.getMetricsAsJSON()) {
    const labels = (metricsRegistry.getSingleMetric(name) as unknown as { labelNames?: string[] }).labelNames ?? [];
    const series = String(type) === 'histogram' ? { [`${name}_bucket`]: [...labels, 'le'], [`${name}_sum`]: labels, [`${name}_count`]: labels } : { [name]: labels };
    for (const [series_, names] of Object.entries(series)) known.set(series_, new Set([...names, 'instance', 'job']));
  }
  for (const { name, labels } of samplesOf(scrape).filter((s) => s.name.startsWith('temporal_'))) {
    const names = known.get(name) ?? new Set(['instance', 'job']);
    for (const label of Object.keys(labels)) names.add(label);
    known.set(name, names);
  }
  return known;
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/**
 * The metric names a PromQL query reads, the labels its selectors match on (per metric) and the
 * labels it groups by. Grafana's variables are replaced first (`$__rate_interval`, `$task_queue`).
 */
function readsOf(expr: string): { metrics: string[]; matchers: [string, string][]; grouping: string[] } {
  let rest = expr.replaceAll('$__rate_interval', '5m').replace(/\$\{?\w+\}?/g, 'x');
  const grouping = [...rest.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)]
    .flatMap((m) => m[1]!.split(',').map((label) => label.trim()).filter((label) => label !== ''));
  rest = rest.replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, ' ');
  const matchers: [string, string][] = [];
  rest = rest.replace(/([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g, (_, metric: string | undefined, body: string) => {
    for (const m of body.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) matchers.push([metric ?? '(no metric name)', m[1]!]);
    return ` ${metric ?? '(no metric name)'} `;
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ').replace(/"[^"]*"/g, ' ');
  const metrics = [...rest.matchAll(/([a-zA-Z_:][\w:]*)\s*(\()?/g)]
    .filter((m) => m[2] === undefined && !PROMQL_KEYWORDS.has(m[1]!)).map((m) => m[1]!);
  return { metrics, matchers, grouping };
}

const DASHBOARDS_DIR = new URL('../deploy/grafana/dashboards/', import.meta.url);
const dashboardFiles = readdirSync(DASHBOARDS_DIR).filter((file) => file.endsWith('.json')).sort();

interface Panel { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid?: string }; targets?: { expr: string; refId: string; datasource?: { uid?: string } }[] }
interface Dashboard {
  uid: string; title: string; schemaVersion: number; panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string }; datasource?: { uid?: string } }[] };
}
const dashboardOf = (file: string) => JSON.parse(readFileSync(new URL(file, DASHBOARDS_DIR), 'utf8')) as Dashboard;

describe('the Grafana dashboards (deploy/grafana/dashboards)', () => {
  it('are API, workflows and business dashboards of unique uids, each panel on the datasource variable, none overlapping', () => {
    expect(dashboardFiles).toEqual(['steadfast-api.json', 'steadfast-business.json', 'steadfast-workflows.json']);
    const dashboards = dashboardFiles.map(dashboardOf);
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length);
    for (const d of dashboards) {
      expect(d.schemaVersion).toBe(39);
      expect(d.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
      expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
      const cells = new Set<string>();
      for (const panel of d.panels) {
        for (let x = panel.gridPos.x; x < panel.gridPos.x + panel.gridPos.w; x++) {
          for (let y = panel.gridPos.y; y < panel.gridPos.y + panel.gridPos.h; y++) {
            expect(cells.has(`${x},${y}`), `${d.uid}: "${panel.title}" overlaps another panel`).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
        expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
        if (panel.type === 'row') continue;
        expect(panel.datasource?.uid, `${d.uid}: "${panel.title}"`).toBe('${datasource}');
        expect(panel.targets?.length, `${d.uid}: "${panel.title}"`).toBeGreaterThan(0);
        for (const t of panel.targets ?? []) expect(t.datasource?.uid).toBe('${datasource}');
      }
    }
  });

  it('query only metrics that exist: ours (the registry) or the SDK\'s seen in the live scrape, with labels they carry', async () => {
    const known = await knownMetrics();
    const problems: string[] = [];
    let queries = 0;
    for (const file of dashboardFiles) {
      const d = dashboardOf(file);
      const exprs = d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${file}: "${p.title}"`, expr: t.expr })));
      for (const v of d.templating.list.filter((variable) => variable.type === 'query')) {
        const query = typeof v.query === 'string' ? v.query : v.query.query;
        const [, metric, label] = /^label_values\((\w+),\s*(\w+)\)$/.exec(query) ?? [];
        exprs.push({ where: `${file}: variable ${v.name}`, expr: metric ? `sum by (${label}) (${metric})` : query });
      }
      for (const { where, expr } of exprs) {
        queries++;
        const { metrics, matchers, grouping } = readsOf(expr);
        if (metrics.length === 0) problems.push(`${where}: reads no metric: ${expr}`);
        for (const metric of metrics) if (!known.has(metric)) problems.push(`${where}: unknown metric ${metric}`);
        for (const [metric, label] of matchers) if (!known.get(metric)?.has(label)) problems.push(`${where}: ${metric} has no label ${label}`);
        const carried = new Set(metrics.flatMap((metric) => [...(known.get(metric) ?? [])]));
        for (const label of grouping) if (!carried.has(label)) problems.push(`${where}: no metric of it has the label ${label}: ${expr}`);
      }
    }
    expect(problems).toEqual([]);
    expect(queries).toBeGreaterThan(40);
  });

  it('read metrics of both kinds: every SDK histogram the brief names and our own', () => {
    const used = new Set(dashboardFiles.flatMap((file) => dashboardOf(file).panels.flatMap((p) => (p.targets ?? []).flatMap((t) => readsOf(t.expr).metrics))));
    for (const metric of [
      'temporal_workflow_task_schedule_to_start_latency_seconds_bucket', 'temporal_activity_schedule_to_start_latency_seconds_bucket',
      'temporal_worker_task_slots_available', 'temporal_worker_task_slots_used', 'temporal_sticky_cache_size', 'temporal_sticky_cache_hit_total',
      'temporal_workflow_completed_total', 'temporal_activity_execution_latency_seconds_bucket', 'temporal_activity_execution_failed_total',
      'steadfast_http_request_duration_seconds_bucket', 'steadfast_rate_limit_decisions_total', 'steadfast_cache_requests_total',
      'steadfast_workflow_starts_total', 'steadfast_workflow_results_total', 'steadfast_circuit_breaker_state', 'steadfast_outbox_lag_seconds',
      'steadfast_notification_deliveries_total', 'steadfast_start_reconciler_rows_total',
    ]) expect(used, metric).toContain(metric);
  });
});
