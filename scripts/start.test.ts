import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../test/eventually.js';
import { jsonLine } from '../test/worker-process.js';
import { loadConfig } from '../platform/config.js';
import { withDatabaseName } from '../platform/postgres-url.js';
import { freePort, REPO_ROOT } from '../platform/temporal-dev-server.js';
import { dropDatabase } from '../store/migrate.js';

/**
 * `npm start` leaves nothing behind (issue #16): real `npm start`s (npm → sh → compiled supervisor →
 * dev server, simulators, worker, API, all `node dist/…`) on free ports, with their own database, Temporal file and
 * START_DATA_DIR, so the test runs beside a developer's `npm start`. Each is killed the way a
 * machine kills it; then every process it had (read from /proc, not from its pid file) must be
 * gone and every port free, and the next `npm start` must come up. Linux only (/proc, setpriv).
 */

/**
 * `npm start` compiles first (scripts/build/main.ts --dev): nothing while dist/ is newer than every
 * source (as after beforeAll's build), but a source edited since is compiled again, which takes
 * a minute or more on a loaded 2-core machine. Its end is waited for before the start's own time.
 */
const BUILD_TIMEOUT_MS = 240_000;
/** A start takes 10–20 s here; a loaded 2-core machine (a full suite beside) needs a wide margin. */
const READY_TIMEOUT_MS = 90_000;
/** SIGKILL: the kernel's parent-death signal, no drain. */
const KILLED_GONE_MS = 5_000;
/** npm gone or terminal closed: the supervisor stops everything in order (the worker drains). */
const STOPPED_GONE_MS = 60_000;
const OUTPUT_MAX_CHARS = 20_000;
/** One test: a build at worst, a start, its stop. */
const STACK_TEST_TIMEOUT_MS = BUILD_TIMEOUT_MS + READY_TIMEOUT_MS + STOPPED_GONE_MS;

const ports = {
  PORT: 0, TEMPORAL_PORT: 0, TEMPORAL_UI_PORT: 0, PROCESSORS_SIM_PORT: 0, PROVIDERS_SIM_PORT: 0,
  SMTP_SIM_PORT: 0, WORKER_METRICS_PORT: 0,
};
let dataDir = '';
let databaseUrl = '';
/** Every process any stack had, for afterAll's cleanup when an assertion failed. */
const seen = new Map<number, number>();

interface ProcessEntry {
  pid: number;
  ppid: number;
  startTicks: number;
  zombie: boolean;
  command: string;
}

function readProcess(pid: number): ProcessEntry | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, ppid: Number(fields[1]), startTicks: Number(fields[19]), zombie: fields[0] === 'Z', command };
  } catch {
    return null;
  }
}

/** `root` and all its descendants, from /proc. */
function processTree(root: number): ProcessEntry[] {
  const all = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map((name) => readProcess(Number(name)))
    .filter((entry): entry is ProcessEntry => entry !== null && !entry.zombie);
  const tree = all.filter((entry) => entry.pid === root);
  for (let i = 0; i < tree.length; i += 1) tree.push(...all.filter((entry) => entry.ppid === tree[i]!.pid));
  return tree;
}

/** Alive: the same process (pid and start time), not a zombie. */
function alive(entry: ProcessEntry): boolean {
  const now = readProcess(entry.pid);
  return now !== null && !now.zombie && now.startTicks === entry.startTicks;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

async function busyPorts(): Promise<number[]> {
  const all = Object.values(ports);
  const free = await Promise.all(all.map((port) => portFree(port)));
  return all.filter((_, i) => !free[i]);
}

function stackEnv(): NodeJS.ProcessEnv {
  // Not the developer's Temporal settings (but their CLI) or standby, and no npm_* (the launcher chain ends at our npm).
  // Not the test run's LOG_* either: the stack logs as a developer's does (info; JSON, its stdout being no terminal).
  const inherited = Object.fromEntries(Object.entries(process.env)
    .filter(([name]) => !/^(TEMPORAL_(?!CLI_PATH$)|npm_|DATABASE_READ_URL$|LOG_)/.test(name)));
  const host = '127.0.0.1';
  return {
    ...inherited,
    NODE_ENV: 'development',
    HOST: host,
    PORT: String(ports.PORT),
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: `${host}:${ports.TEMPORAL_PORT}`,
    TEMPORAL_UI_PORT: String(ports.TEMPORAL_UI_PORT),
    TEMPORAL_DB_FILE: join(dataDir, 'temporal.sqlite'),
    START_DATA_DIR: dataDir,
    // The run's prebuilt bundle: the worker is up in seconds instead of bundling.
    WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    PROCESSORS_SIM_PORT: String(ports.PROCESSORS_SIM_PORT),
    PROCESSORS_URL: `http://${host}:${ports.PROCESSORS_SIM_PORT}`,
    FX_PROVIDER_URL: `http://${host}:${ports.PROCESSORS_SIM_PORT}/fx`,
    PROVIDERS_SIM_PORT: String(ports.PROVIDERS_SIM_PORT),
    PUSH_PROVIDER_URL: `http://${host}:${ports.PROVIDERS_SIM_PORT}/push`,
    SMS_PROVIDER_URL: `http://${host}:${ports.PROVIDERS_SIM_PORT}/sms`,
    SMTP_SIM_PORT: String(ports.SMTP_SIM_PORT),
    SMTP_URL: `smtp://${host}:${ports.SMTP_SIM_PORT}`,
    WORKER_METRICS_PORT: String(ports.WORKER_METRICS_PORT),
  };
}

interface Stack {
  /** `npm start`, or the terminal (`script`) it runs in. */
  root: ChildProcess;
  /** The root and everything under it once it is up. */
  tree: ProcessEntry[];
  supervisor: ProcessEntry;
  /** The supervisor's own log lines (service `start`) as `[start] <msg>`, all of them. */
  startLines(): string;
  /** The end of everything written, for failure messages. */
  output(): string;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

/**
 * `npm start` in its own session, up (API ready, worker's metrics answering). `inTerminal`: in a
 * pseudo-terminal of its own (util-linux `script`), which closes when `script` dies.
 */
async function startStack(inTerminal = false): Promise<Stack> {
  // A port still taken would make a leftover pass for the new stack.
  expect(await busyPorts(), 'ports still taken before npm start').toEqual([]);
  let output = '';
  let startLines = '';
  let built = false;
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-OUTPUT_MAX_CHARS));
  const [command, ...args] = inTerminal ? ['script', '--quiet', '--flush', '--return', '--command', 'npm start', '/dev/null'] : ['npm', 'start'];
  const root = spawn(command!, args, { cwd: REPO_ROOT, env: stackEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  root.stdout.on('data', keep);
  root.stderr.on('data', keep);
  // The supervisor's lines whole (a chunk may end mid-line), whatever the children write around them.
  for (const stream of [root.stdout, root.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (line.startsWith('[build] workflow bundle')) built = true;
      const logged = jsonLine(line);
      if (logged?.service === 'start') startLines += `[start] ${String(logged.msg)}\n`;
    });
  }
  const up = async () => root.exitCode === null
    && await answers(`http://127.0.0.1:${ports.PORT}/readyz`)
    && await answers(`http://127.0.0.1:${ports.WORKER_METRICS_PORT}/metrics`);
  try {
    await eventually(() => built || root.exitCode !== null, Boolean, { timeoutMs: BUILD_TIMEOUT_MS, intervalMs: 250 });
    await eventually(up, (ok) => ok || root.exitCode !== null, { timeoutMs: READY_TIMEOUT_MS, intervalMs: 250 });
    if (root.exitCode !== null) throw new Error(`${command} exited (${root.exitCode})`);
  } catch (err) {
    // Not left running into the next test: its process group (npm, sh, the supervisor, whose children die with it).
    if (root.exitCode === null) process.kill(-root.pid!, 'SIGKILL');
    throw new Error(`npm start did not come up: ${(err as Error).message}\n${output}`);
  }
  const tree = processTree(root.pid!);
  for (const entry of tree) seen.set(entry.pid, entry.startTicks);
  // The node process itself, not the `sh -c "… && node dist/scripts/start.js"` that runs it.
  const supervisor = tree.find((entry) => /^\S*node dist\/scripts\/start\.js$/.test(entry.command));
  if (!supervisor) throw new Error(`no supervisor under ${command}:\n${tree.map((e) => e.command).join('\n')}`);
  return { root, tree, supervisor, startLines: () => startLines, output: () => output };
}

async function expectNothingLeft(stack: Stack, timeoutMs: number): Promise<void> {
  const left = () => stack.tree.filter(alive).map((entry) => `${entry.pid} ${entry.command.slice(0, 120)}`);
  try {
    await eventually(left, (list) => list.length === 0, { timeoutMs, intervalMs: 100 });
    await eventually(busyPorts, (busy) => busy.length === 0, { timeoutMs: 2_000, intervalMs: 100 });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- npm start's output ---\n${stack.output()}`);
  }
}

/** The children the stack is made of: the dev server, three simulators, the worker, the API. */
function children(stack: Stack): ProcessEntry[] {
  return stack.tree.filter((entry) => entry.ppid === stack.supervisor.pid);
}

/** The supervisor stopped the children one by one, in the order of a Ctrl-C. */
const STOPPED_IN_ORDER = /api stopped\n\[start\] worker stopped\n\[start\] providers stopped\n\[start\] smtp stopped\n\[start\] processors stopped/;

describe('npm start leaves nothing behind', () => {
  beforeAll(async () => {
    const taken = new Set<number>();
    for (const name of Object.keys(ports) as (keyof typeof ports)[]) {
      let port = await freePort();
      while (taken.has(port)) port = await freePort();
      taken.add(port);
      ports[name] = port;
    }
    dataDir = mkdtempSync(join(tmpdir(), 'steadfast-start-'));
    databaseUrl = withDatabaseName(loadConfig().DATABASE_URL, `steadfast_start_${process.pid}_${Date.now().toString(36)}`);
    // npm start builds first (scripts/build/main.ts --dev): a cold build here, so each start below finds dist/ fresh.
    await promisify(execFile)('npm', ['run', '-s', 'build:dist', '--', '--dev'], { cwd: REPO_ROOT, maxBuffer: 10_000_000 }).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`npm run build:dist failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    });
  });

  afterAll(async () => {
    for (const [pid, startTicks] of seen) {
      const entry = readProcess(pid);
      if (entry && entry.startTicks === startTicks) process.kill(pid, 'SIGKILL');
    }
    if (databaseUrl) await dropDatabase(databaseUrl);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('SIGKILL to the supervisor takes every child with it', async () => {
    const stack = await startStack();
    const kids = children(stack);
    // The compiled entry points, as the image runs them: plain node, no tsx.
    expect(kids.map((kid) => kid.command.replace(REPO_ROOT, '').split(' ').find((part) => /main\.js$|start-dev/.test(part))).sort())
      .toEqual(['/dist/api/main.js', '/dist/simulators/processors/main.js', '/dist/simulators/providers/main.js', '/dist/simulators/smtp/main.js', '/dist/workers/main.js', 'start-dev']);
    expect(kids.filter((kid) => /tsx|\.ts\b/.test(kid.command))).toEqual([]);
    // The pid file names every child, by the command it runs (the fallback where setpriv is missing).
    const pidFile = JSON.parse(readFileSync(join(dataDir, 'npm-start.json'), 'utf8')) as { children: { pid: number; command: string }[] };
    expect(pidFile.children.map((c) => [c.pid, c.command]).sort()).toEqual(kids.map((kid) => [kid.pid, kid.command]).sort());

    process.kill(stack.supervisor.pid, 'SIGKILL');
    await expectNothingLeft(stack, KILLED_GONE_MS);
  }, STACK_TEST_TIMEOUT_MS);

  it('the next npm start comes up; SIGKILL to npm: the supervisor sees it and stops everything in order', async () => {
    const stack = await startStack();
    expect(children(stack)).toHaveLength(6);
    process.kill(stack.root.pid!, 'SIGKILL');
    await expectNothingLeft(stack, STOPPED_GONE_MS);
    expect(stack.startLines()).toContain(`(pid ${stack.root.pid}), which ran this npm start, is gone: stopping everything`);
    expect(stack.startLines(), stack.output()).toMatch(STOPPED_IN_ORDER);
  }, STACK_TEST_TIMEOUT_MS);

  it('its terminal closes (SIGHUP, then every write fails): everything stops, through the whole stop', async () => {
    const stack = await startStack(true);
    expect(existsSync(join(dataDir, 'npm-start.json'))).toBe(true);
    // The terminal emulator is gone: the kernel hangs up the pseudo-terminal.
    process.kill(stack.root.pid!, 'SIGKILL');
    await expectNothingLeft(stack, STOPPED_GONE_MS);
    // Its lines went to the closed terminal; the pid file goes last in a stop that ran to its end.
    expect(existsSync(join(dataDir, 'npm-start.json'))).toBe(false);
  }, STACK_TEST_TIMEOUT_MS);

  it('Ctrl-C (SIGINT to its process group) still stops everything in order', async () => {
    const stack = await startStack();
    process.kill(-stack.root.pid!, 'SIGINT');
    await expectNothingLeft(stack, STOPPED_GONE_MS);
    expect(stack.startLines(), stack.output()).toMatch(STOPPED_IN_ORDER);
    expect(existsSync(join(dataDir, 'npm-start.json'))).toBe(false);
  }, STACK_TEST_TIMEOUT_MS);
});
