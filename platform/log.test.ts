import { context, ROOT_CONTEXT, trace, TraceFlags, type Context, type ContextManager } from '@opentelemetry/api';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { databaseErrorQuoting } from '../test/pg-error.js';
import { captureLogs, childLogger, logSettingsOf, logger, scrubText, serializeError, setLogService } from './log.js';
import { temporalLogger } from './temporal-logger.js';

/**
 * The logger (issue #16): settings from the environment, the bindings every line carries, the
 * redaction list, the error serializer and the Temporal SDK adapter, checked on the lines as they
 * are written (JSON, after redaction).
 */

const PAN = '4242 4242 4242 4242';
/** A real PostgreSQL error whose `where` and `detail` quote the data it was given. */
let pgError: Error;
let logs: ReturnType<typeof captureLogs>;

beforeAll(async () => {
  pgError = await databaseErrorQuoting(PAN);
});
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => {
  logs.stop();
  setLogService('test');
});

describe('logSettingsOf', () => {
  it('info and JSON by default, pretty on a terminal, silent in tests unless a file is given', () => {
    expect(logSettingsOf({}, false)).toEqual({ level: 'info', levelSet: false, format: 'json', file: undefined });
    expect(logSettingsOf({}, true)).toMatchObject({ level: 'info', format: 'pretty' });
    expect(logSettingsOf({ NODE_ENV: 'test' }, false)).toMatchObject({ level: 'silent', levelSet: false });
    expect(logSettingsOf({ NODE_ENV: 'test', LOG_FILE: '/tmp/run.jsonl' }, true)).toEqual({ level: 'info', levelSet: false, format: 'json', file: '/tmp/run.jsonl' });
    expect(logSettingsOf({ NODE_ENV: 'test', LOG_LEVEL: 'debug', LOG_FORMAT: 'pretty' }, false)).toEqual({ level: 'debug', levelSet: true, format: 'pretty', file: undefined });
    // A bad value: the defaults here (loadConfig refuses it, and that refusal is logged).
    expect(logSettingsOf({ LOG_LEVEL: 'loud' }, false)).toMatchObject({ level: 'info', levelSet: false });
  });
});

describe('every line', () => {
  it('names the service, the level as a word and an ISO time; children add their bindings', () => {
    setLogService('api');
    const request = childLogger({ component: 'http', requestId: 'req_1' });
    request.child({ tenantId: 'tnt_1' }).info({ status: 200 }, 'request');
    logger.warn('plain');
    const [line, plain] = logs.lines();
    expect(line).toMatchObject({ level: 'info', service: 'api', component: 'http', requestId: 'req_1', tenantId: 'tnt_1', status: 200, msg: 'request' });
    expect(new Date(String(line!.time)).toISOString()).toBe(line!.time);
    expect(plain).toMatchObject({ level: 'warn', service: 'api', msg: 'plain' });
    expect(plain).not.toHaveProperty('requestId');
  });

  it('carries the active span’s trace id and span id (none without a span)', () => {
    const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
    const registered = context.setGlobalContextManager(new StackContextManager());
    expect(registered).toBe(true);
    try {
      context.with(trace.setSpan(context.active(), trace.wrapSpanContext(spanContext)), () => logger.info('in a span'));
      logger.info('outside');
    } finally {
      context.disable();
    }
    const [inside, outside] = logs.lines();
    expect(inside).toMatchObject({ traceId: spanContext.traceId, spanId: spanContext.spanId });
    expect(outside).not.toHaveProperty('traceId');
  });
});

describe('redaction', () => {
  it('never writes credentials, tokens, secrets, card data or personal data under their usual names', () => {
    const secrets = {
      authorization: 'Bearer sk_live_aaaaaaaaaaaa', 'x-api-key': 'sk_xapikey_bbbbbbbb', cookie: 'session=cccccccc',
      'steadfast-actor': 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.ddddddddd', password: 'hunter2hunter2',
      secret: 'whsec_eeeeeeeeeeee', token: 'tok_ffffffffffff', taskToken: 'CiQ0gggggggggggg', cvc: 'cvc-737',
      card_number: '4111111111111111', email: 'ada@example.com', phone: '+15551234567',
    };
    const log = childLogger({ component: 'redaction-test' });
    log.info({ headers: secrets }, 'nested once');
    log.info({ request: { headers: secrets } }, 'nested twice');
    log.info(secrets, 'top level');
    log.child({ apiKey: 'sk_bound_hhhhhhhhhhhh', email: 'bound@example.com' }).info('in bindings');
    log.info({ calls: [{ request: { headers: { Authorization: 'Bearer deep_iiiiiiii' } } }], at: new Date(0) }, 'deep, in an array, any case');
    const text = logs.text();
    for (const value of [...Object.values(secrets), 'sk_bound_hhhhhhhhhhhh', 'bound@example.com', 'deep_iiiiiiii']) expect(text).not.toContain(value);
    const [once, twice, top, bound, deep] = logs.lines();
    expect(once!.headers).toMatchObject({ authorization: '[Redacted]', email: '[Redacted]', cvc: '[Redacted]', taskToken: '[Redacted]' });
    expect((twice!.request as { headers: object }).headers).toMatchObject({ 'x-api-key': '[Redacted]', secret: '[Redacted]' });
    expect(top).toMatchObject({ password: '[Redacted]', phone: '[Redacted]', card_number: '[Redacted]' });
    expect(bound).toMatchObject({ apiKey: '[Redacted]', email: '[Redacted]', component: 'redaction-test' });
    expect(deep).toMatchObject({ calls: [{ request: { headers: { Authorization: '[Redacted]' } } }], at: '1970-01-01T00:00:00.000Z' });
    // What was logged is not changed: the redaction copies.
    expect(secrets.authorization).toBe('Bearer sk_live_aaaaaaaaaaaa');
  });

  it('scrubText replaces keys, secrets, JWTs, bearer tokens, e-mail addresses and card numbers in free text', () => {
    const text = scrubText(
      'key sk_AbC123_xyz-987 secret whsec_Zz9_8abcdef jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln '
      + 'header Bearer abc.def-123 mail Ada.Lovelace+1@mail.example.org card 4242-4242-4242-4242 order 1234',
    );
    expect(text).toBe('key sk_[Redacted] secret whsec_[Redacted] jwt [Redacted] header Bearer [Redacted] '
      + 'mail [Redacted e-mail] card [Redacted number] order 1234');
    // Ids, times and UUIDs stay readable.
    const plain = 'tr_01JD3M5Q9W1V8X7Y6Z5A4B3C2D at 2026-11-30T13:45:08.724Z run 3993ff4a-7bde-4e63-9e77-65dd1f496216';
    expect(scrubText(plain)).toBe(plain);
  });
});

describe('errors', () => {
  it('a database error by SQLSTATE code only, never its message or detail (they quote the row)', () => {
    logger.error({ err: pgError }, 'query failed');
    const [line] = logs.lines();
    expect(line!.err).toEqual({ type: 'DatabaseError', code: (pgError as unknown as { code: string }).code });
    expect(logs.text()).not.toContain('4242');
  });

  it('any other error by type, message and stack (causes included), scrubbed', () => {
    const err = new Error('send to ada@example.com failed', { cause: new Error(`key sk_live_${'x'.repeat(20)} refused`) });
    logger.error({ err }, 'delivery failed');
    const serialized = logs.lines()[0]!.err as Record<string, string>;
    expect(serialized).toMatchObject({ type: 'Error', message: 'send to [Redacted e-mail] failed' });
    expect(serialized.stack).toContain('caused by: Error: key sk_[Redacted] refused');
    expect(logs.text()).not.toMatch(/ada@example\.com|sk_live_x/);
    expect(serializeError('plain text')).toEqual({ message: 'plain text' });
  });
});

describe('the Temporal SDK adapter', () => {
  it('writes the SDK’s lines with our names: level, runId, err (serialized); never the task token', () => {
    const sdk = temporalLogger();
    sdk.warn('Activity failed', {
      sdkComponent: 'worker', workflowId: 'transfer-tr_1', workflowRunId: 'run-1', activityType: 'postTransfer', activityId: '1',
      attempt: 2, taskToken: 'CiQ0secret', error: pgError, durationMs: 3,
    });
    sdk.info('compensating', { sdkComponent: 'workflow', workflowId: 'payment-pay_1', runId: 'run-2', workflowType: 'paymentSaga', step: 'void' });
    sdk.trace('Starting activity', { sdkComponent: 'worker' }); // below the run's level (debug): dropped
    const payloadKey = Buffer.from('a-payload-encryption-key-32bytes');
    sdk.debug('Creating worker', {
      sdkComponent: 'worker', taskQueue: 'q', options: { taskQueue: 'q', maxCachedWorkflows: 10, dataConverter: { payloadCodecs: [{ key: payloadKey }] } },
    });
    sdk.warn('Failing workflow task', { sdkComponent: 'core', failure: 'Failure { message: "no user ada@example.com" }', attempt: 2 });
    const [failed, workflow, creating, core, ...rest] = logs.lines();
    expect(rest).toEqual([]);
    expect(failed).toMatchObject({
      level: 'warn', component: 'temporal', sdkComponent: 'worker', workflowId: 'transfer-tr_1', runId: 'run-1',
      activityType: 'postTransfer', attempt: 2, durationMs: 3, msg: 'Activity failed',
      err: { type: 'DatabaseError', code: expect.any(String) },
    });
    expect(failed).not.toHaveProperty('taskToken');
    expect(failed).not.toHaveProperty('workflowRunId');
    expect(workflow).toMatchObject({ level: 'info', sdkComponent: 'workflow', workflowId: 'payment-pay_1', runId: 'run-2', step: 'void' });
    // The worker's options by their plain settings: the data converter holds the payload keys.
    expect(creating).toMatchObject({ msg: 'Creating worker', options: { taskQueue: 'q', maxCachedWorkflows: 10 } });
    expect(creating!.options).not.toHaveProperty('dataConverter');
    // The core's failures come as text: scrubbed.
    expect(core).toMatchObject({ sdkComponent: 'core', failure: 'Failure { message: "no user [Redacted e-mail]" }', attempt: 2 });
    expect(logs.text()).not.toMatch(/4242|CiQ0secret/);
    expect(logs.text()).not.toContain(JSON.stringify([...payloadKey]).slice(1, -1));
  });
});

/** The smallest OpenTelemetry context manager: synchronous `with` (enough for a log call). */
class StackContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;
  active(): Context {
    return this.current;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.current;
    this.current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}
