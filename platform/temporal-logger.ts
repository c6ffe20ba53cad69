import type { Logger as SdkLogger, LogLevel, LogMetadata } from '@temporalio/common';
import { childLogger, scrubText, serializeError, type Logger } from './log.js';

/**
 * The Temporal SDK's logs through our logger: `Runtime.install({ logger: temporalLogger() })`. The
 * Runtime's logger receives the worker's own lines, the core's when forwarded
 * (`telemetryOptions.logging.forward`), activity code's (`log` of `@temporalio/activity`, with
 * `workflowId`, `workflowRunId`, `workflowType`, `activityId`, `activityType`, `attempt`) and
 * workflow code's (`log` of `@temporalio/workflow`, through the SDK's default sink, with
 * `workflowId`, `runId`, `workflowType`). Each line gets the SDK's `sdkComponent`.
 */

const LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const satisfies Record<LogLevel, string>;

/** Named as our own lines name them: one `runId` for a run, `err` for the error (and its serializer). */
const RENAMED: Readonly<Record<string, string>> = { workflowRunId: 'runId', error: 'err' };
/** A task token is a capability (whoever holds it can complete the activity): never written. */
const DROPPED: ReadonlySet<string> = new Set(['taskToken']);

/**
 * The worker's options (its "Creating worker" line at debug) by their plain settings only: the
 * objects among them hold the data converter with the payload encryption keys, the connection,
 * the activities.
 */
function plainSettingsOf(options: unknown): Record<string, unknown> | unknown {
  if (options === null || typeof options !== 'object') return options;
  return Object.fromEntries(Object.entries(options).filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value)));
}

/**
 * The SDK's metadata as our fields. An error under another name than `error` is written as
 * `serializeError` writes it: the SDK logs a failed activity with its error object, and a
 * database error's detail holds row data.
 */
function fieldsOf(meta: LogMetadata | undefined): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  // Object.entries skips the SDK's symbol keys (its LogTimestamp): the line has its own time.
  for (const [key, value] of Object.entries(meta ?? {})) {
    if (DROPPED.has(key)) continue;
    const name = RENAMED[key] ?? key;
    if (name === 'options') fields[name] = plainSettingsOf(value);
    else fields[name] = value instanceof Error && name !== 'err' ? serializeError(value) : value;
  }
  return fields;
}

function scrubbedStrings(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, typeof value === 'string' ? scrubText(value) : value]));
}

/**
 * An SDK `Logger` over `parent` (default: a child with `component: 'temporal'`).
 *
 * @example Runtime.install({ logger: temporalLogger(), telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } } })
 */
export function temporalLogger(parent: Logger = childLogger({ component: 'temporal' })): SdkLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    const method = LEVELS[level];
    if (!parent.isLevelEnabled(method)) return;
    // The core's (Rust) lines carry failures as text (a workflow task's failure message, which may
    // quote a client's input): their message and text fields are scrubbed like an error's.
    if (meta?.sdkComponent === 'core') parent[method](scrubbedStrings(fieldsOf(meta)), scrubText(message));
    else parent[method](fieldsOf(meta), message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
