import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commandLine, StartAlreadyRunningError, StartPidFile, type RecordedProcess } from './pid-file.js';

/**
 * The pid file's clean-up (what a next `npm start` does where setpriv could not take the children
 * with a killed supervisor), on real processes: detached `node` sleepers stand in for the children.
 */

let dir = '';
const spawned: ChildProcess[] = [];

/** A detached process like `npm start`'s children (own group), and its recorded entry. */
function sleeper(name: string, script = 'setInterval(() => {}, 1000)'): { child: ChildProcess; recorded: RecordedProcess } {
  const argv = [process.execPath, '-e', script];
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore' });
  spawned.push(child);
  return { child, recorded: { name, pid: child.pid!, command: argv.join(' ') } };
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function writePidFile(path: string, supervisor: RecordedProcess, children: RecordedProcess[]): void {
  writeFileSync(path, JSON.stringify({ supervisor, children }));
}

/** Waits until the process's command line reads as `argv` (ps may look before the exec). */
async function started(recorded: RecordedProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (commandLine(recorded.pid) !== recorded.command) {
    if (Date.now() > deadline) throw new Error(`${recorded.name} never ran ${recorded.command}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('StartPidFile', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'steadfast-pid-file-'));
  });
  afterEach(() => {
    for (const child of spawned.splice(0)) if (running(child)) child.kill('SIGKILL');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops the children a dead supervisor left running, and only those that still run their recorded command', async () => {
    const path = join(dir, 'leftovers.json');
    const leftover = sleeper('processors');
    // A pid that now runs something else (a reused pid): never touched.
    const other = sleeper('other');
    const stubborn = sleeper('worker', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)");
    await Promise.all([leftover, other, stubborn].map(({ recorded }) => started(recorded)));
    const supervisor = { name: 'supervisor', pid: await deadPid(), command: 'node scripts/start.ts' };
    writePidFile(path, supervisor, [leftover.recorded, { ...other.recorded, command: 'node api/main.ts' }, stubborn.recorded]);
    const lines: string[] = [];
    const exits = [once(leftover.child, 'exit'), once(stubborn.child, 'exit')];

    const stopped = await new StartPidFile(path, { log: (line) => lines.push(line), termWaitMs: 300 }).clearLeftovers();

    expect(stopped.map((p) => p.name).sort()).toEqual(['processors', 'worker']);
    const signals = (await Promise.all(exits)).map(([, signal]) => signal as unknown);
    // SIGTERM first; SIGKILL for the one that ignores it.
    expect(signals).toEqual(['SIGTERM', 'SIGKILL']);
    expect(running(other.child)).toBe(true);
    expect(lines).toEqual(expect.arrayContaining([`stopping processors (pid ${leftover.recorded.pid}), left running by an earlier npm start`]));
  });

  it('refuses while the recorded supervisor still runs, and touches nothing', async () => {
    const path = join(dir, 'running.json');
    const supervisor = sleeper('supervisor');
    const child = sleeper('api');
    await Promise.all([supervisor.recorded, child.recorded].map(started));
    writePidFile(path, supervisor.recorded, [child.recorded]);

    await expect(new StartPidFile(path, { log: () => undefined }).clearLeftovers()).rejects.toBeInstanceOf(StartAlreadyRunningError);
    expect(running(child.child)).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ supervisor: supervisor.recorded, children: [child.recorded] });
  });

  it('records this process and its children, and removes the file on release only while it is its own', async () => {
    const path = join(dir, 'own.json');
    const file = new StartPidFile(path, { log: () => undefined });
    file.claim();
    file.add('api', 4242, ['/usr/bin/node', '--import', 'tsx', '/repo/api/main.ts']);
    const content = JSON.parse(readFileSync(path, 'utf8')) as { supervisor: RecordedProcess; children: RecordedProcess[] };
    expect(content.supervisor).toEqual({ name: 'supervisor', pid: process.pid, command: commandLine(process.pid) });
    expect(content.children).toEqual([{ name: 'api', pid: 4242, command: '/usr/bin/node --import tsx /repo/api/main.ts' }]);
    // Its own supervisor entry is no reason to refuse (a restart of the same process).
    await expect(file.clearLeftovers()).resolves.toEqual([]);
    file.release();
    expect(existsSync(path)).toBe(false);

    file.claim();
    writePidFile(path, { name: 'supervisor', pid: await deadPid(), command: 'another' }, []);
    file.release();
    expect(existsSync(path)).toBe(true);
  });

  it('ignores a pid file it cannot read', async () => {
    const path = join(dir, 'garbage.json');
    writeFileSync(path, '{"supervisor": 1');
    const lines: string[] = [];
    await expect(new StartPidFile(path, { log: (line) => lines.push(line) }).clearLeftovers()).resolves.toEqual([]);
    expect(lines).toEqual([`ignoring an unreadable pid file ${path}`]);
  });
});
