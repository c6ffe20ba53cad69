import { createRequire } from 'node:module';
import { isAttributeValue } from '@opentelemetry/core';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor, type OpenTelemetryWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { Tracing } from './tracing.js';

/**
 * Temporal's OpenTelemetry interceptors (`@temporalio/interceptors-opentelemetry`): the client's
 * start, Update and signal calls open a span and pass its context in the Temporal headers; the
 * workflow continues it (`RunWorkflow:<type>`, `StartActivity:<type>`, `HandleUpdate:<name>`),
 * the activity too (`RunActivity:<type>`), so one trace goes from the API request to each SQL
 * statement and processor call of the saga. Without a tracer provider (tracing off) every one of
 * them is the OpenTelemetry API's no-op, except inside workflows: see `workflowSpanSinks`.
 */

/**
 * The workflow side, bundled into THE workflow bundle (workers/workflow-bundle.ts
 * `workflowBundleOptions`): interceptors run inside the workflow sandbox, deterministic (their
 * ids come from the workflow's seeded random), and hand their ended spans to the `exporter` sink.
 */
export const WORKFLOW_INTERCEPTOR_MODULES: string[] = [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/** For every `Client` that starts or updates workflows (the API's, the worker's relay and reconciler). */
export function tracingClientInterceptors(): ClientInterceptors {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/** For every `Worker.create`: activity spans, and trace ids on the SDK's activity log lines. */
export function tracingWorkerInterceptors(): WorkerInterceptors {
  return {
    activity: [(ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    })],
  };
}

export type WorkflowSpanSinks = InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }>;

/**
 * The `exporter` sink the bundled workflow interceptors call with their spans: every worker (and
 * replayer) running the bundle must have it, or the SDK logs "unregistered external sink" for
 * each activation. Tracing on: the spans join this process's span processor, with its resource.
 * Off: dropped here (the sandbox still makes them: the bundle is the same either way).
 */
export function workflowSpanSinks(tracing: Tracing | undefined): WorkflowSpanSinks {
  if (!tracing?.spanProcessor) return { exporter: { export: { fn: () => undefined } } };
  return { exporter: makeWorkflowExporter(new WorkflowInfoFilter(tracing.spanProcessor), tracing.resource) };
}

/** Workflow details that are payload data, not ids: never span attributes. */
const DROPPED_ATTRIBUTES = new Set(['memo', 'lastResult', 'lastFailure']);

/**
 * `makeWorkflowExporter` adds the whole WorkflowInfo to each span's attributes. Kept: the plain
 * values (workflowId, runId, workflowType, taskQueue, namespace, attempt, …). Dropped: objects
 * (search attributes, dates, `unsafe`) that are no valid attribute values, and the memo, last
 * result and last failure, which may carry payload data (traces leave our stores).
 */
class WorkflowInfoFilter implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    const attributes = span.attributes as Record<string, unknown>;
    for (const [key, value] of Object.entries(attributes)) {
      if (DROPPED_ATTRIBUTES.has(key) || !isAttributeValue(value)) delete attributes[key];
    }
    this.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  /** The provider shuts `next` down. */
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
