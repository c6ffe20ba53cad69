import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { isWrapped } from '@opentelemetry/instrumentation';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../config.js';
import { otlpTracesUrl, startTracing } from './tracing.js';

/**
 * Tracing's two states in one process, in this order: off (no endpoint) installs nothing; on (an
 * OTLP endpoint) registers the provider, patches the already-loaded `pg`, and on shutdown POSTs
 * the buffered spans, scrubbed, as OTLP/HTTP protobuf to `<endpoint>/v1/traces` (a fake collector).
 */

interface Received { path: string; contentType: string | undefined; body: Buffer }

/** A collector that accepts OTLP/HTTP and keeps what it got. */
async function startCollector(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

let collector: Awaited<ReturnType<typeof startCollector>> | undefined;
afterAll(async () => {
  await new Promise((resolve) => collector?.server.close(resolve) ?? resolve(undefined));
});

describe('tracing set-up', () => {
  it('the traces URL: the signal endpoint as is, else the base URL + /v1/traces, else none', () => {
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined })).toBe('http://c:4318/v1/traces');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:9/x' })).toBe('http://t:9/x');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined })).toBeUndefined();
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });

  it('off without an endpoint: no provider, no propagation, pg left as it is', async () => {
    const tracing = startTracing(loadConfig({}), { serviceName: 'steadfast-test' });
    expect(tracing.enabled).toBe(false);
    expect(tracing.spanProcessor).toBeUndefined();
    const span = trace.getTracer('test').startSpan('nothing');
    expect(span.isRecording()).toBe(false);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    expect(carrier).toEqual({});
    expect(isWrapped(pg.Client.prototype.query)).toBe(false);
    await tracing.shutdown();
  });

  it('on with OTEL_EXPORTER_OTLP_ENDPOINT: spans (pg\'s included) exported at shutdown as OTLP protobuf, service name set, secrets scrubbed', async () => {
    collector = await startCollector();
    const config = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'steadfast-otlp-test' });
    const tracing = startTracing(config, { serviceName: 'steadfast-api' });
    expect(tracing.enabled).toBe(true);
    // `pg` was imported before tracing started (as in every process): patched in place.
    expect(isWrapped(pg.Client.prototype.query)).toBe(true);

    const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 1 });
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('outer-operation', async (span) => {
      span.setAttribute('customer', 'jane.doe@example.com');
      span.recordException(new Error('refused key sk_live_0123456789abcdef for jane.doe@example.com'));
      await pool.query('SELECT $1::int AS traced_statement', [41]);
      span.end();
    });
    await pool.end();
    expect(collector.received).toEqual([]); // batched: nothing sent yet

    await tracing.shutdown();
    expect(collector.received.map((r) => [r.path, r.contentType])).toEqual([['/v1/traces', 'application/x-protobuf']]);
    const body = collector.received[0]!.body.toString('latin1');
    expect(body).toContain('steadfast-otlp-test');
    expect(body).toContain('outer-operation');
    expect(body).toContain('SELECT $1::int AS traced_statement'); // the statement, not its parameter
    expect(body).toContain('[Redacted e-mail]');
    expect(body).not.toContain('jane.doe@example.com');
    expect(body).not.toContain('sk_live_0123456789abcdef');
  });
});
