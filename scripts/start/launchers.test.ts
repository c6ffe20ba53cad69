import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/eventually.js';

/**
 * The supervisor's watch on what launched it, on real processes: a chain like
 * `npm` → `tsx` → supervisor, made of plain node processes, with the watcher at its end.
 */

const LAUNCHERS = fileURLToPath(new URL('./launchers.ts', import.meta.url));
const WATCHER = `
import { findLaunchers, watchLaunchers } from ${JSON.stringify(LAUNCHERS)};
console.log('launchers ' + findLaunchers().map((l) => l.pid).join(','));
watchLaunchers((gone) => { console.log('gone ' + gone.pid); process.exit(0); }, 50);
setTimeout(() => process.exit(1), 30000);
`;
/** A launcher in the middle: spawns argv[1] (JSON), as npm does for a script when argv[2] is `npm`. */
const MIDDLE = `
const [argv, role] = process.argv.slice(1);
const env = role === 'npm' ? { ...process.env, npm_lifecycle_event: 'start' } : process.env;
require('node:child_process').spawn(process.execPath, JSON.parse(argv), { stdio: 'inherit', env });
setInterval(() => {}, 1000);
`;
const watcherArgv = ['--import', 'tsx', '--input-type=module', '-e', WATCHER];

const started: number[] = [];

interface Chain {
  top: ChildProcess;
  /** The watcher's launchers, parent first, as it found them. */
  launchers: number[];
  lines: string[];
}

/** Starts `top` (no npm_* in its environment) and waits until the watcher at the end lists its launchers. */
async function chain(topArgv: string[]): Promise<Chain> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
  const top = spawn(process.execPath, topArgv, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(top.pid!);
  const lines: string[] = [];
  createInterface({ input: top.stdout! }).on('line', (line) => lines.push(line));
  const first = await eventually(() => lines[0] ?? '', (line) => line !== '', { timeoutMs: 30_000 });
  const launchers = first.replace('launchers ', '').split(',').map(Number);
  started.push(...launchers);
  return { top, launchers, lines };
}

describe('watchLaunchers', () => {
  afterEach(() => {
    for (const pid of started.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  it('reports its parent gone (SIGKILL to the tsx of npm → tsx → supervisor)', async () => {
    const { top, launchers, lines } = await chain(['-e', MIDDLE, JSON.stringify(watcherArgv)]);
    // The test runner that started `top` is no launcher: nothing above the parent ran it as an npm script.
    expect(launchers).toEqual([top.pid]);
    top.kill('SIGKILL');
    await eventually(() => lines, (l) => l.includes(`gone ${top.pid}`), { timeoutMs: 10_000 });
  });

  it('reports npm gone, above a parent that npm started for the script', async () => {
    const parentArgv = ['-e', MIDDLE, JSON.stringify(watcherArgv)];
    const { top: npm, launchers, lines } = await chain(['-e', MIDDLE, JSON.stringify(parentArgv), 'npm']);
    expect(launchers).toHaveLength(2);
    expect(launchers[1]).toBe(npm.pid);
    npm.kill('SIGKILL');
    await eventually(() => lines, (l) => l.includes(`gone ${npm.pid}`), { timeoutMs: 10_000 });
  });
});
