import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** A command's output kept for its error: the tail, where initdb and pg_basebackup say what went wrong. */
const OUTPUT_KEPT_CHARS = 4_000;
const COMMAND_TIMEOUT_MS = 120_000;

/**
 * Runs a command to its end (killed after COMMAND_TIMEOUT_MS); resolves on exit 0, else rejects
 * with `<label> failed (<exit code or signal>)` and the tail of its stdout and stderr. For the
 * one-shot PostgreSQL tools (initdb, pg_basebackup) of the embedded server and the topology.
 */
export function runCommand(label: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT_CHARS);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${label} could not start: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolveRun();
      else reject(new Error(`${label} failed (${signal ?? `exit ${code}`}):\n${output.trimEnd()}`));
    });
  });
}

/**
 * Stops a server child the way PostgreSQL's fast shutdown wants it: `signal` (SIGINT: sessions
 * ended, a checkpoint), SIGKILL once `graceMs` has passed; resolves when `exited` does. For the
 * embedded server and the topology's nodes.
 */
export async function stopWithGrace(child: ChildProcess, exited: Promise<void>, graceMs: number, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** The last `lines` lines of a log file ('' while it does not exist): what a server said before it failed. */
export function logTail(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
