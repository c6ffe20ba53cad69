import { ApiError } from '../../api/errors.js';
import { DomainError } from '../../domain/errors.js';
import type { CommandName } from './commands.js';
import { createOpsContext, type Handler } from './context.js';
import * as database from './database-commands.js';
import type { Invocation } from './parse.js';
import * as workflows from './workflow-commands.js';
import { sendLogsToStderr, setDefaultLogLevel } from '../../platform/log.js';

// stdout only ever carries answers: the log lines of the code the commands run (the store's, the
// reconciler's) go to stderr, from warnings up unless LOG_LEVEL says otherwise.
sendLogsToStderr();
setDefaultLogLevel('warn');

/** Every command of scripts/ops/commands.ts and what runs it (tsc fails when one is missing). */
const HANDLERS: Record<CommandName, Handler> = {
  list: workflows.list,
  cancel: workflows.cancel,
  terminate: workflows.terminate,
  retry: workflows.retry,
  'reconcile-starts': workflows.reconcile,
  audit: database.audit,
  'dead-letters': database.deadLetters,
  'dead-letters retry': database.retryDeadLetterCommand,
  outbox: database.outbox,
  deployment: workflows.deployment,
  'deployment set-current': workflows.setCurrent,
  'deployment ramp': workflows.ramp,
  'new-sealing-key': database.sealingKey,
  'reseal-secrets': database.resealStoredSecrets,
  'seal-webhook-secrets': database.sealWebhookSecrets,
  replication: database.replication,
};

/**
 * Runs one parsed command and prints its answer (a table, or JSON with --json) on stdout; returns
 * the exit code. A usage error found while checking option values (a UsageError) is the caller's
 * to print; it is thrown before anything connects. A refusal with a stable code (no such run, a
 * delivery not dead-lettered) prints `error <code>: message` on stderr (`{"error":{code,message}}` with
 * --json) and exits 1: stdout only ever carries answers.
 */
export async function runCommand(invocation: Invocation): Promise<number> {
  const ctx = createOpsContext();
  try {
    const output = await HANDLERS[invocation.command](invocation, ctx);
    console.log(invocation.json ? JSON.stringify(output.data, null, 2) : output.text);
    return output.exitCode ?? 0;
  } catch (err) {
    const refusal = refusalOf(err);
    if (!refusal) throw err;
    console.error(invocation.json ? JSON.stringify({ error: refusal }) : `error ${refusal.code}: ${refusal.message}`);
    return 1;
  } finally {
    await ctx.close();
  }
}

function refusalOf(err: unknown): { code: string; message: string; param?: string } | null {
  if (err instanceof ApiError || err instanceof DomainError) {
    return { code: err.code, message: err.message, ...(err.param ? { param: err.param } : {}) };
  }
  return null;
}
