import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { z } from 'zod';
import { containsCardNumber } from '../domain/card-data.js';
import { logEnv, type LogLevelName } from './config-log.js';
import { describeError, isDatabaseError } from './safe-error.js';

export type { Logger } from 'pino';

/**
 * The one logger of every process (issue #16): JSON lines (pino), pretty in a terminal, with the
 * process's `service` and, while an OpenTelemetry span is active, its `traceId` and `spanId` on
 * every line. Modules take a child with what they know (`childLogger({ component: 'cache' })`);
 * the API binds `requestId` and `tenantId` per request (api/middleware/access-log.ts), the Temporal
 * SDK's logs carry `workflowId`, `runId` and `activityType` (platform/temporal-logger.ts).
 *
 * Secrets and personal data never reach a line: well-known field names are redacted (`REDACTED_KEYS`)
 * and error objects are written by `serializeError` (database errors by SQLSTATE only, text scrubbed
 * of keys, tokens, card numbers and e-mail addresses). test/whole-run-logs.test.ts greps a whole
 * test run's log file for anything that got through anyway.
 *
 * The logger is built when this module is first imported, before the process's configuration is
 * loaded (a bad configuration is itself logged): it reads the LOG_* fragment of the one schema
 * (platform/config-log.ts) from the environment here; loadConfig checks the same fragment again.
 */

/**
 * Field names whose values are never written: in a line's fields in any case and at any depth up
 * to `REDACT_DEPTH_MAX` (`redactKeys`), and at the top of a child logger's bindings (pino's `redact`).
 */
export const REDACTED_KEYS = [
  // credentials in headers and options
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'steadfast-actor',
  'apiKey', 'api_key', 'adminApiKey', 'ADMIN_API_KEY', 'password', 'passwd', 'pass', 'authToken', 'auth_token',
  // tokens: actor JWTs, Temporal task tokens (whoever holds one can complete the activity), push tokens
  'token', 'tokens', 'accessToken', 'refreshToken', 'actorToken', 'taskToken', 'task_token', 'pushToken',
  // secrets: webhook and signing secrets, sealing keys; an idempotency record's stored answer may hold one
  'secret', 'secrets', 'webhookSecret', 'signingSecret', 'secretKey', 'secret_key', 'privateKey', 'private_key',
  'responseBody', 'response_body',
  // card data and personal data
  'pan', 'cardNumber', 'card_number', 'cvc', 'cvv', 'email', 'phone', 'phoneNumber', 'phone_number',
] as const;

const REDACTED = '[Redacted]';

const REDACTED_KEY_SET: ReadonlySet<string> = new Set(REDACTED_KEYS.map((key) => key.toLowerCase()));
/** How deep a line is searched for them (a bound: a cyclic or huge object costs no more). */
const REDACT_DEPTH_MAX = 6;

/**
 * `value` with every field named in `REDACTED_KEYS` replaced, copied only where something was
 * replaced: every line's fields go through it (pino's `formatters.log`). Not pino's `redact` option
 * alone: our list at three depths (`key`, `*.key`, `*.*.key`) cost ~75 µs a line there, this walk
 * ~1 µs. Errors are left to `serializeError`; values that write themselves (`toJSON`: dates,
 * buffers) and typed arrays are leaves.
 */
export function redactKeys(value: unknown, depth = 0): unknown {
  if (depth >= REDACT_DEPTH_MAX || value === null || typeof value !== 'object') return value;
  if (value instanceof Error || ArrayBuffer.isView(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, i) => {
      const redacted = redactKeys(item, depth + 1);
      if (redacted !== item) (copy ??= [...value])[i] = redacted;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const redacted = REDACTED_KEY_SET.has(key.toLowerCase()) ? REDACTED : redactKeys(item, depth + 1);
    if (redacted !== item) (copy ??= { ...value })[key] = redacted;
  }
  return copy ?? value;
}

/** Shapes of secrets and personal data inside free text (error messages, stacks). */
const SECRET_PATTERNS: [RegExp, string][] = [
  [/\b(sk|whsec)_[A-Za-z0-9_-]{6,}/g, '$1_[Redacted]'],
  [/\beyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){0,2}/g, REDACTED],
  [/\bBearer\s+[^\s"',;]+/gi, `Bearer ${REDACTED}`],
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g, '[Redacted e-mail]'],
];
/** A run of 12+ digits with at most two separators between two of them (domain/card-data.ts's notion). */
const DIGIT_RUN = /\d(?:[ \t\u00a0.-]{0,2}\d){11,}/g;

/** `text` with API keys, webhook secrets, JWTs, bearer tokens, e-mail addresses and card numbers replaced. */
export function scrubText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return containsCardNumber(out) ? out.replace(DIGIT_RUN, '[Redacted number]') : out;
}

/**
 * An error as a log line holds it: a database error by SQLSTATE code, constraint, table and column
 * only (its message and detail quote row data: platform/safe-error.ts); anything else by type,
 * message and stack (with causes), scrubbed by `scrubText`.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: scrubText(typeof err === 'string' ? err : 'non-error value thrown') };
  if (isDatabaseError(err)) {
    const { code, constraint, table, column } = err;
    return { type: 'DatabaseError', code, constraint, table, column };
  }
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    ...(typeof code === 'string' ? { code: scrubText(code) } : {}),
    message: scrubText(err.message),
    stack: scrubText(describeError(err)),
  };
}

export interface LogSettings {
  level: LogLevelName;
  /** LOG_LEVEL was set (a default level, `setDefaultLogLevel`, does not override it). */
  levelSet: boolean;
  format: 'json' | 'pretty';
  /** Lines are appended here instead of stdout. */
  file: string | undefined;
}

const logSettingsSchema = z.object({ NODE_ENV: z.string().optional(), ...logEnv });

/**
 * The logger's settings from the environment: LOG_LEVEL (default `info`; `silent` under
 * NODE_ENV=test without a LOG_FILE), LOG_FORMAT (`auto`: pretty on a terminal, JSON otherwise and
 * in a file), LOG_FILE. A bad value falls back to the defaults here; loadConfig then refuses it.
 */
export function logSettingsOf(env: Record<string, string | undefined>, stdoutIsTty: boolean): LogSettings {
  const parsed = logSettingsSchema.safeParse(env);
  const values = parsed.success ? parsed.data : { NODE_ENV: undefined, LOG_LEVEL: undefined, LOG_FORMAT: 'auto' as const, LOG_FILE: undefined };
  const file = values.LOG_FILE;
  const level = values.LOG_LEVEL ?? (values.NODE_ENV === 'test' && file === undefined ? 'silent' : 'info');
  const format = values.LOG_FORMAT === 'auto' ? (file === undefined && stdoutIsTty ? 'pretty' : 'json') : values.LOG_FORMAT;
  return { level, levelSet: values.LOG_LEVEL !== undefined, format, file };
}

/** Bytes a destination may hold unwritten (a terminal gone, a full disk) before lines are dropped. */
const UNWRITTEN_BYTES_MAX = 16 * 1024 * 1024;

/**
 * stdout or the file, written synchronously: a line is out before the next statement (nothing lost
 * at `process.exit` or a crash, and in order with the plain text a script prints). Write errors
 * (the terminal closed, EIO) are dropped: a process must not die of its log.
 */
function outputOf(settings: LogSettings, fd: 1 | 2 = 1): { write(line: string): void } {
  const out = pino.destination({ dest: settings.file ?? fd, sync: true, append: true, mkdir: true, maxLength: UNWRITTEN_BYTES_MAX });
  out.on('error', () => undefined);
  if (settings.format === 'json') return out;
  const pretty = pinoPretty.prettyFactory({
    colorize: settings.file === undefined && (fd === 1 ? process.stdout : process.stderr).isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    messageFormat: '[{service}] {msg}',
    singleLine: true,
  });
  return { write: (line: string) => out.write(pretty(line)) };
}

/** Listeners of every line (as JSON, after redaction): `captureLogs` in tests. */
const taps = new Set<(line: string) => void>();

/** Where the lines go: the file, else stdout (stderr after `sendLogsToStderr`). */
let output: { write(line: string): void };

function streamOf(settings: LogSettings): DestinationStream {
  output = outputOf(settings);
  return {
    write(line: string) {
      for (const tap of taps) tap(line);
      output.write(line);
    },
  };
}

/** Until the entry point names it (`setLogService`): test files' own processes are `test`. */
let service = process.env.NODE_ENV === 'test' ? 'test' : 'steadfast';

/** The active span's ids, when an OpenTelemetry SDK is registered and a span is active. */
function traceFields(): { traceId?: string; spanId?: string } {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || !isSpanContextValid(context)) return {};
  return { traceId: context.traceId, spanId: context.spanId };
}

const settings = logSettingsOf(process.env, process.stdout.isTTY === true);

/** The process's root logger; prefer a `childLogger` with what the module knows. */
export const logger: Logger = pino({
  level: settings.level,
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: {
    level: (label) => ({ level: label }),
    log: (object) => redactKeys(object) as Record<string, unknown>,
  },
  // The same names at the top of a child's bindings (pino applies `redact` there; `formatters.log` is
  // not): top-level paths only, which cost nothing measurable.
  redact: { paths: REDACTED_KEYS.map((key) => (/^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`)), censor: REDACTED },
  mixin: () => ({ service, ...traceFields() }),
  serializers: { err: serializeError },
}, streamOf(settings));

/** Every line of this process names it: `api`, `worker`, `relay`, `start`, … Call it first thing in an entry point. */
export function setLogService(name: string): void {
  service = name;
}

/** A logger whose lines carry `bindings` (and whatever its parent carries). */
export function childLogger(bindings: Record<string, unknown>, parent: Logger = logger): Logger {
  return parent.child(bindings);
}

/**
 * Command-line tools whose stdout is their answer (`npm run ops -- … --json`, `npm run actor-token`):
 * their log lines go to stderr instead (a LOG_FILE still gets them).
 */
export function sendLogsToStderr(): void {
  if (settings.file === undefined) output = outputOf(settings, 2);
}

/**
 * Unless LOG_LEVEL says otherwise, log at `level` (benchmarks: their report is their output).
 * Child loggers follow: none of ours sets a level of its own.
 */
export function setDefaultLogLevel(level: LogLevelName): void {
  if (!settings.levelSet) logger.level = level;
}

/** A line as `captureLogs` hands it over. */
export type LogLine = Record<string, unknown> & { level: string; msg?: string; service: string };

/**
 * Tests only: every line logged from now on (by any logger of this process), parsed, until
 * `stop()`. The lines still go where they go; LOG_LEVEL must let them through (the test run's
 * global setup logs at `debug`).
 *
 * @example const logs = captureLogs(); …; expect(logs.lines().some((l) => l.msg === 'request failed')).toBe(true); logs.stop();
 */
export function captureLogs(): { lines(): LogLine[]; text(): string; stop(): void } {
  if (!logger.isLevelEnabled('warn')) throw new Error(`captureLogs: LOG_LEVEL ${logger.level} drops the lines to capture`);
  const captured: string[] = [];
  const tap = (line: string) => void captured.push(line);
  taps.add(tap);
  return {
    lines: () => captured.map((line) => JSON.parse(line) as LogLine),
    /** The lines as written (JSON, one per line). */
    text: () => captured.join(''),
    stop: () => void taps.delete(tap),
  };
}
