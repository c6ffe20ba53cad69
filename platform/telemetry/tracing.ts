import { createRequire } from 'node:module';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation, type UndiciRequest } from '@opentelemetry/instrumentation-undici';
import { envDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION, ATTR_URL_FULL, ATTR_URL_QUERY } from '@opentelemetry/semantic-conventions';
import type { Config } from '../config.js';
import { childLogger, serializeError } from '../log.js';
import { RELEASE } from '../release.js';
import { ScrubbingSpanProcessor } from './scrub.js';

/** This process's tracing: on (spans recorded and exported) or off (nothing installed). */
export interface Tracing {
  readonly enabled: boolean;
  /** The processor every span goes through; the worker's workflow span sink feeds it too. Off: none. */
  readonly spanProcessor: SpanProcessor | undefined;
  /** `service.name` (and version) of this process's spans. */
  readonly resource: Resource;
  /** Exports what is still buffered and stops; the process calls it last, before it exits. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** `service.name` unless OTEL_SERVICE_NAME says otherwise. */
  serviceName: string;
  /**
   * Where spans go instead of OTLP, each as it ends (tests: `InMemorySpanExporter`). Absent: the
   * OTLP exporter, batched, when an OTLP endpoint is configured; else tracing is off.
   */
  exporter?: SpanExporter;
}

/**
 * Starts tracing for this process when an OTLP endpoint is configured (or `exporter` is given):
 * a tracer provider registered as the global one (AsyncLocalStorage context, W3C `traceparent`
 * propagation), pg and fetch (undici) instrumentation. Otherwise it installs nothing: the
 * OpenTelemetry API stays the no-op it is by default, and spans cost a function call each.
 *
 * Call it once, first thing after `loadConfig`. `pg` may be loaded already (ESM imports are
 * evaluated before any code runs): it is patched in place, see `patchLoadedModules`.
 *
 * @example const tracing = startTracing(config, { serviceName: 'steadfast-api' }); … await tracing.shutdown();
 */
export function startTracing(config: Config, options: TracingOptions): Tracing {
  const resource = envDetectorSync.detect().merge(new Resource({
    [ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME ?? options.serviceName,
    [ATTR_SERVICE_VERSION]: RELEASE,
  }));
  const otlpUrl = otlpTracesUrl(config);
  if (!options.exporter && !otlpUrl) {
    return { enabled: false, spanProcessor: undefined, resource, shutdown: async () => undefined };
  }
  // The OTLP exporter reads its headers, timeout and compression from the OTEL_* variables itself.
  const spanProcessor = new ScrubbingSpanProcessor(
    options.exporter ? new SimpleSpanProcessor(options.exporter) : new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpUrl })),
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // W3C trace context only: a caller's `baggage` would otherwise ride into Temporal headers (histories).
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // Statements as written (parameters are never recorded); none outside a request or an activity
      // (the outbox relay's and the reconciler's polls would each make a trace).
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
      // Global fetch: the processor and notification calls. The query string is not recorded.
      new UndiciInstrumentation({ requireParentforSpans: true, startSpanHook: withoutQuery }),
    ],
  });
  patchLoadedModules();
  // The SDK's own troubles (a collector that does not answer) in our logs, not lost. Only now: the
  // pg instrumentation warns, when enabled, that pg "was loaded before" it (patchLoadedModules).
  diag.setLogger(diagLogger(), DiagLogLevel.WARN);
  return {
    enabled: true, spanProcessor, resource,
    async shutdown() {
      unregister();
      await provider.shutdown().catch((err: unknown) => log.warn({ err: serializeError(err) }, 'spans not exported at shutdown'));
    },
  };
}

/**
 * The instrumentations patch a module when it is `require`d after they are enabled. Our code
 * `import`s `pg` (an ESM import of a CommonJS package does not go through `require`), and it is
 * loaded before `startTracing` runs; requiring it once more here hands the loaded module to the
 * pg instrumentation, which patches `Client.prototype` and `pg-pool`'s `Pool.prototype`: the
 * objects our imports use. No loader hook (`--import`, `module.register`) and no start flag needed.
 */
function patchLoadedModules(): void {
  const require = createRequire(import.meta.url);
  require('pg');
  createRequire(require.resolve('pg'))('pg-pool');
}

/** The OTLP/HTTP traces URL (the spec's rule: the signal's own endpoint, else `<base>/v1/traces`); none: off. */
export function otlpTracesUrl(config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'>): string | undefined {
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT) return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

const log = childLogger({ component: 'otel' });

/** OpenTelemetry's diagnostics (warnings and errors only) as our log lines. */
function diagLogger() {
  const line = (level: 'error' | 'warn' | 'info' | 'debug') => (message: string, ...args: unknown[]) =>
    log[level]({ details: args.map((arg) => (arg instanceof Error ? serializeError(arg) : String(arg))) }, message);
  return { error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug'), verbose: line('debug') };
}

/** `url.full` without the query string (a webhook URL's query may carry a token), and no `url.query`. */
function withoutQuery(request: UndiciRequest) {
  const url = new URL(request.path, request.origin);
  return { [ATTR_URL_FULL]: `${url.origin}${url.pathname}`, [ATTR_URL_QUERY]: undefined };
}
