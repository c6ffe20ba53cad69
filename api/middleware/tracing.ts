import { randomUUID } from 'node:crypto';
import { context, createContextKey, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.js';
import { methodLabel, routePattern } from './route.js';

const tracer = trace.getTracer('steadfast-api');

/** Probes and scrapes (HAProxy every few seconds, Prometheus): a trace each would drown the real ones. */
const UNTRACED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** Set in a request's context when the caller's `traceparent` was continued (the trace is theirs). */
const CALLER_TRACE = createContextKey('steadfast caller trace');

/**
 * One SERVER span per request, named `<METHOD> <route pattern>` (`POST /v1/payments`), never the
 * raw path (a path may hold a client's ids, even a card number), with the method, route and
 * status. An incoming W3C `traceparent` is continued; the answer carries the server span's own
 * `traceparent`, so a caller can find the trace. Everything below (pg, the Temporal client's
 * start or Update, the workflow, its activities) is a child of this span. Register it first.
 *
 * Tracing off (no OTLP endpoint, platform/telemetry/tracing.ts): the API's no-op span, and no
 * `traceparent` header. Probes and scrapes (`UNTRACED_PATHS`) get no span either way.
 *
 * @example app.use('*', tracing()); app.use('*', requestId({ headerName: 'Request-Id', generator: requestIdOfTrace }));
 */
export function tracing(): MiddlewareHandler<AppEnv> {
  return async function traceRequest(c, next) {
    if (UNTRACED_PATHS.has(c.req.path)) return next();
    const parent = propagation.extract(ROOT_CONTEXT, c.req.header());
    const continued = trace.getSpanContext(parent) !== undefined;
    const method = methodLabel(c);
    const attributes = { [ATTR_HTTP_REQUEST_METHOD]: method };
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes }, parent);
    const active = trace.setSpan(continued ? parent.setValue(CALLER_TRACE, true) : parent, span);
    const carrier: Record<string, string> = {};
    propagation.inject(active, carrier);
    if (carrier.traceparent) c.header('traceparent', carrier.traceparent);
    try {
      await context.with(active, next);
    } finally {
      end(span, c);
    }
  };
}

function end(span: Span, c: Context<AppEnv>): void {
  const route = routePattern(c);
  const status = c.res.status;
  span.updateName(`${methodLabel(c)} ${route}`);
  span.setAttributes({ [ATTR_HTTP_ROUTE]: route, [ATTR_HTTP_RESPONSE_STATUS_CODE]: status });
  if (c.error) span.recordException(c.error);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/**
 * The `Request-Id` of a request hono's `requestId()` did not get one for: the trace id when this
 * request started the trace (one id for the logs, the answer and the trace backend); a random
 * UUID when tracing is off, or when the caller's `traceparent` was continued (their trace id may
 * be shared by many requests, and a Request-Id names one).
 */
export function requestIdOfTrace(): string {
  const active = context.active();
  const spanContext = trace.getSpanContext(active);
  if (!spanContext || !trace.isSpanContextValid(spanContext) || active.getValue(CALLER_TRACE) === true) return randomUUID();
  return spanContext.traceId;
}
