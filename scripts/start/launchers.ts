import { readFileSync } from 'node:fs';

/**
 * The processes that launched `npm start`'s supervisor: `npm` → `sh -c` → supervisor (`node
 * dist/scripts/start.js`; a `tsx` in between when it runs from the sources). A SIGKILL may hit any
 * of them, and none tells the supervisor (tsx relays only SIGINT and SIGTERM): the supervisor
 * watches them and stops everything, in order, when one is gone.
 *
 * Which ones: the parent always (on every platform, by `process.ppid`, which changes when the
 * parent dies). On Linux also the ancestors above it that npm started for the script (their
 * environment has `npm_lifecycle_event`) and npm itself, the first one without it, read from
 * `/proc`; each is known by its pid and start time, so a reused pid does not pass for it.
 */

export interface Launcher {
  pid: number;
  /** The process's name (`comm`), for the log line. */
  name: string;
  /** Linux: its start time in clock ticks since boot (`/proc/<pid>/stat` field 22); null elsewhere. */
  startTicks: number | null;
}

/** At most this many ancestors are watched (npm, sh, tsx, and a spare). */
const LAUNCHERS_MAX = 4;

interface ProcStat {
  name: string;
  /** R, S, D, Z (zombie: ended, not reaped yet), X … */
  state: string;
  ppid: number;
  startTicks: number;
}

/** `/proc/<pid>/stat`, or null when the process is gone (or there is no /proc). */
function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid … starttime …": comm may hold spaces and parentheses, so split after the last ')'.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return { name: text.slice(text.indexOf('(') + 1, close), state: fields[0] ?? '', ppid: Number(fields[1]), startTicks: Number(fields[19]) };
}

function startedByNpm(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').some((entry) => entry.startsWith('npm_lifecycle_event='));
  } catch {
    return false;
  }
}

/** This process's launchers, parent first. */
export function findLaunchers(): Launcher[] {
  const parent = procStat(process.ppid);
  if (!parent) return [{ pid: process.ppid, name: 'parent', startTicks: null }];
  const launchers: Launcher[] = [{ pid: process.ppid, name: parent.name, startTicks: parent.startTicks }];
  let current = process.ppid;
  let currentStat = parent;
  while (launchers.length < LAUNCHERS_MAX && currentStat.ppid > 1 && startedByNpm(current)) {
    const above = procStat(currentStat.ppid);
    if (!above) break;
    launchers.push({ pid: currentStat.ppid, name: above.name, startTicks: above.startTicks });
    current = currentStat.ppid;
    currentStat = above;
  }
  return launchers;
}

function isGone(launcher: Launcher, parentPid: number): boolean {
  if (launcher.pid === parentPid && process.ppid !== parentPid) return true;
  if (launcher.startTicks === null) return false;
  const stat = procStat(launcher.pid);
  // A zombie (Z) or dead (X) process has ended: its parent has not reaped it yet (a loaded shell or
  // test runner can take a while), but it launches nothing any more.
  return stat === null || stat.startTicks !== launcher.startTicks || stat.state === 'Z' || stat.state === 'X';
}

/**
 * Calls `onGone` once, with the first launcher found gone (checked every `intervalMs`).
 * Returns a function that stops watching. The timer does not keep the process alive.
 */
export function watchLaunchers(onGone: (gone: Launcher) => void, intervalMs = 500): () => void {
  const parentPid = process.ppid;
  const launchers = findLaunchers();
  const timer = setInterval(() => {
    const gone = launchers.find((launcher) => isGone(launcher, parentPid));
    if (!gone) return;
    clearInterval(timer);
    onGone(gone);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
