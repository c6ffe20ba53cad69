import { spawnSync } from 'node:child_process';

/**
 * Children that die with their parent, however it dies (SIGKILL included): Linux's parent-death
 * signal (`prctl(PR_SET_PDEATHSIG)`), set by util-linux's `setpriv --pdeathsig KILL`, which then
 * execs the command (no process in between: the child's pid is the command's). The kernel sends
 * the signal when the *thread* that forked the child exits; Node forks from its main thread, which
 * lives as long as the process. Where setpriv is missing (macOS) the command runs as given.
 *
 * @example
 * const [command, args] = dieWithParent(process.execPath, ['api/main.ts']);
 * spawn(command, args, { detached: true });
 */
export function dieWithParent(command: string, args: readonly string[]): [string, string[]] {
  return parentDeathSignalAvailable() ? ['setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, [...args]];
}

let available: boolean | undefined;

/** Whether `setpriv --pdeathsig` works here (asked once: it runs `setpriv --pdeathsig KILL -- true`). */
export function parentDeathSignalAvailable(): boolean {
  if (available === undefined) {
    available = process.platform === 'linux'
      && spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 5_000 }).status === 0;
  }
  return available;
}
