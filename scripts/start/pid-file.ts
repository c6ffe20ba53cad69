import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { childLogger } from '../../platform/log.js';

const pidFileLog = childLogger({ component: 'pid-file' });

/**
 * `npm start`'s pid file: the supervisor and every child it spawned, with the exact command line
 * each runs. The next `npm start` reads it before it binds anything and stops the children that
 * still run their recorded command (a supervisor killed where the kernel could not take them with
 * it: no `setpriv` (macOS), or a child spawned in the instant before the supervisor died). A
 * recorded supervisor that still runs is another `npm start`: refused, nothing touched.
 */

const recordedSchema = z.strictObject({
  name: z.string().min(1).max(100),
  pid: z.number().int().positive(),
  command: z.string().min(1).max(16_384),
});
const pidFileSchema = z.strictObject({
  supervisor: recordedSchema,
  children: z.array(recordedSchema).max(50),
});
export type RecordedProcess = z.infer<typeof recordedSchema>;
type PidFileContent = z.infer<typeof pidFileSchema>;

/** How long a leftover gets after SIGKILL (after SIGTERM: `termWaitMs`). */
const LEFTOVER_KILL_WAIT_MS = 5_000;

export interface StartPidFileOptions {
  /** Where its lines go (default: the process's logger, at info). */
  log?: (line: string) => void;
  /** How long a leftover gets after SIGTERM before SIGKILL (5 s: the worker drains). */
  termWaitMs?: number;
}

export class StartAlreadyRunningError extends Error {
  override name = 'StartAlreadyRunningError';
  readonly code = 'start_already_running';
}

/**
 * The command line of a live process (its arguments joined by spaces, as `ps` prints them), or
 * null when it is gone or a zombie. `ps -o args=` reads the same on Linux and macOS.
 */
export function commandLine(pid: number): string | null {
  const result = spawnSync('ps', ['-ww', '-o', 'args=', '-p', String(pid)], { encoding: 'utf8', timeout: 5_000 });
  const line = result.status === 0 ? result.stdout.trim() : '';
  return line === '' || line.endsWith('<defunct>') ? null : line;
}

export class StartPidFile {
  private content: PidFileContent | null = null;
  private readonly log: (line: string) => void;
  private readonly termWaitMs: number;

  constructor(readonly path: string, options: StartPidFileOptions = {}) {
    this.log = options.log ?? ((line) => pidFileLog.info(line));
    this.termWaitMs = options.termWaitMs ?? 5_000;
  }

  /**
   * Before anything binds: refuses (StartAlreadyRunningError) while the recorded supervisor still
   * runs; otherwise stops (SIGTERM, then SIGKILL, to the process group each child leads) the
   * recorded children that still run their recorded command, and returns them.
   */
  async clearLeftovers(): Promise<RecordedProcess[]> {
    const previous = this.read();
    if (!previous) return [];
    const { supervisor } = previous;
    if (supervisor.pid !== process.pid && commandLine(supervisor.pid) === supervisor.command) {
      throw new StartAlreadyRunningError(`npm start is already running (pid ${supervisor.pid}, pid file ${this.path}): stop it first (Ctrl-C in its terminal, or kill ${supervisor.pid})`);
    }
    const leftovers = previous.children.filter((child) => commandLine(child.pid) === child.command);
    for (const child of leftovers) this.log(`stopping ${child.name} (pid ${child.pid}), left running by an earlier npm start`);
    await Promise.all(leftovers.map((child) => stopLeftover(child, this.termWaitMs)));
    return leftovers;
  }

  /** Records this process as the supervisor, with no children yet. */
  claim(): void {
    const command = commandLine(process.pid);
    if (command === null) throw new Error(`ps cannot read this process's command line (pid ${process.pid})`);
    this.content = { supervisor: { name: 'supervisor', pid: process.pid, command }, children: [] };
    this.write();
  }

  /** Records a spawned child by the command line it runs (after setpriv's exec: the command itself). */
  add(name: string, pid: number, argv: readonly string[]): void {
    if (!this.content) throw new Error('StartPidFile.add before claim');
    this.content.children.push({ name, pid, command: argv.join(' ') });
    this.write();
  }

  /** After a stop in order: the file goes, if it is still ours. */
  release(): void {
    if (!this.content) return;
    if (this.read()?.supervisor.pid === process.pid) rmSync(this.path, { force: true });
    this.content = null;
  }

  private read(): PidFileContent | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return null;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    const parsed = pidFileSchema.safeParse(json);
    if (!parsed.success) this.log(`ignoring an unreadable pid file ${this.path}`);
    return parsed.success ? parsed.data : null;
  }

  private write(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.content, null, 2)}\n`);
    renameSync(temporary, this.path);
  }
}

async function stopLeftover(child: RecordedProcess, termWaitMs: number): Promise<void> {
  const stillRunning = () => commandLine(child.pid) === child.command;
  for (const [signal, waitMs] of [['SIGTERM', termWaitMs], ['SIGKILL', LEFTOVER_KILL_WAIT_MS]] as const) {
    signalGroup(child.pid, signal);
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (!stillRunning()) return;
      await sleep(100);
    }
  }
  if (stillRunning()) throw new Error(`${child.name} (pid ${child.pid}), left by an earlier npm start, does not stop even on SIGKILL`);
}

/** `npm start`'s children lead their own process groups (detached): the group, else the process. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
