import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../platform/config.js';
import { redisUrlOf } from '../../platform/redis-mode.js';
import { logTail } from '../../platform/run-command.js';
import { withDatabaseName } from '../../platform/postgres-url.js';
import { REPO_ROOT } from '../../platform/repo-root.js';
import { ensureTemporalCli, freePort, startDevServer, type DevServer } from '../../platform/temporal-dev-server.js';
import { dropDatabase } from '../../store/migrate.js';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { buildContext } from './context.js';
import { parseDockerfile, type Stage, type Step } from './dockerfile.js';

/**
 * `npm run check:image`: the image built and run where there is no Docker engine. The Dockerfile's
 * stages are replayed from the Dockerfile itself (scripts/image/dockerfile.ts) in a scratch folder,
 * from the build context a fresh clone would send (scripts/image/context.ts, .dockerignore): each
 * stage a folder standing for its filesystem, FROM an earlier stage a hard-linked copy of it, COPY
 * from the context or another stage, RUN its command with the stage's ENV — independent stages at
 * once, as BuildKit does. The base image's own files are not replayed: this machine's node (or
 * `--node <path>`) and npm stand in for the image's.
 *
 * Then the final stage as the image would run: no tsx, TypeScript or test tool in its node_modules
 * and no TypeScript source; its USER not root (its processes run as that user, or `nobody` where
 * this machine has no such user, over files owned by root); docker-compose.yml's migrate job, then
 * the image's CMD (the API) and compose's worker command, with plain node from the stage's folder,
 * each in an environment of its own as in its own container, against the local PostgreSQL and
 * Redis and a Temporal dev server on a free port. The image's HEALTHCHECK command must fail before
 * they start and pass for each once they are up (compose's per-service healthchecks too); a
 * transfer must run through them; then SIGTERM (`docker stop`) must stop both within the worker's
 * stop grace period, each with exit code 0.
 */

const LOG_TAIL_LINES = 40;
const HEALTHY_TIMEOUT_MS = 120_000;
/** docker-compose.yml's worker `stop_grace_period`. */
const STOP_TIMEOUT_MS = 30_000;
/** What must not be in the runtime's node_modules: the build's and the tests' tools. */
const BUILD_ONLY_PACKAGES = ['tsx', 'typescript', 'vitest', 'eslint', '@vitest'];

interface StageState {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | null;
}

interface Run {
  scratch: string;
  context: string[];
  nodeDir: string;
  logDir: string;
}

function log(line: string): void {
  console.log(`[image] ${line}`);
}

const elapsed = (startedMs: number) => `${((Date.now() - startedMs) / 1000).toFixed(0)} s`;

/** A stage's path (absolute, or relative to its working directory) in its folder. */
function inStage(state: StageState, path: string): string {
  return join(state.root, posix.resolve(state.workdir, path));
}

/** The end of a log file, for a failure's message. */
const tail = (path: string) => logTail(path, LOG_TAIL_LINES);

/** A command to its end, its output into `logPath`; throws with the log's end when it fails. */
async function runLogged(argv: string[], options: { cwd: string; env: NodeJS.ProcessEnv; logPath: string }): Promise<void> {
  const out = createWriteStream(options.logPath, { flags: 'a' });
  const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const code = await new Promise<number | null>((done) => child.once('close', done));
  out.end();
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}:\n${tail(options.logPath)}`);
}

/** The environment of a RUN: the image's basics (this machine's node first on PATH) and the stage's ENV. */
function buildEnv(run: Run, state: StageState): NodeJS.ProcessEnv {
  return {
    PATH: `${run.nodeDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? '/root',
    // The npm cache of this machine is the registry's copy: the same lockfile and integrity, fewer downloads.
    npm_config_prefer_offline: 'true',
    ...state.env,
  };
}

function copyFromContext(run: Run, state: StageState, step: Extract<Step, { kind: 'copy' }>): void {
  for (const source of step.sources) {
    const prefix = posix.normalize(source).replace(/\/$/, '');
    const isDir = prefix === '.' || run.context.some((file) => file.startsWith(`${prefix}/`));
    const files = prefix === '.' ? run.context : run.context.filter((file) => file === prefix || file.startsWith(`${prefix}/`));
    if (files.length === 0) throw new Error(`${step.line}: ${source} is not in the build context (.dockerignore?)`);
    for (const file of files) {
      const target = isDir ? posix.join(step.dest, prefix === '.' ? file : file.slice(prefix.length + 1))
        : step.dest.endsWith('/') || step.sources.length > 1 ? posix.join(step.dest, basename(file)) : step.dest;
      const path = inStage(state, target);
      mkdirSync(dirname(path), { recursive: true });
      cpSync(join(REPO_ROOT, file), path);
    }
  }
}

function copyFromStage(from: StageState, state: StageState, step: Extract<Step, { kind: 'copy' }>): void {
  for (const source of step.sources) {
    // COPY --from reads from the root of the other stage.
    const path = join(from.root, posix.resolve('/', source));
    if (!existsSync(path)) throw new Error(`${step.line}: ${source} is not in that stage`);
    const intoDir = statSync(path).isDirectory() || step.dest.endsWith('/') || step.sources.length > 1;
    const target = inStage(state, step.dest);
    const destination = intoDir && !statSync(path).isDirectory() ? join(target, basename(path)) : target;
    mkdirSync(dirname(destination), { recursive: true });
    cpSync(path, destination, { recursive: true, verbatimSymlinks: true });
  }
}

async function buildStage(run: Run, stage: Stage, built: Map<string, Promise<StageState>>): Promise<StageState> {
  const root = join(run.scratch, 'stages', stage.name);
  let state: StageState = { root, workdir: '/', env: {}, user: null };
  if ('stage' in stage.base) {
    const base = await built.get(stage.base.stage)!;
    // Hard links: a stage FROM another gets its files at once; npm and the build replace files, never edit them.
    const copied = spawnSync('cp', ['-al', base.root, root]);
    if (copied.status !== 0) throw new Error(`cp -al ${base.root}: ${copied.stderr.toString()}`);
    state = { ...base, root, env: { ...base.env } };
  } else {
    mkdirSync(root, { recursive: true });
  }
  for (const [index, step] of stage.steps.entries()) {
    if (step.kind === 'workdir') {
      state.workdir = posix.resolve(state.workdir, step.path);
      mkdirSync(inStage(state, '.'), { recursive: true });
    } else if (step.kind === 'env') {
      Object.assign(state.env, step.vars);
    } else if (step.kind === 'user') {
      state.user = step.user;
    } else if (step.kind === 'copy') {
      if (step.from === null) copyFromContext(run, state, step);
      else if (built.has(step.from)) copyFromStage(await built.get(step.from)!, state, step);
      else throw new Error(`${step.line}: only COPY --from an earlier stage is replayed`);
    } else {
      const startedMs = Date.now();
      const logPath = join(run.logDir, `${stage.name}-${index}.log`);
      await runLogged(step.argv, { cwd: inStage(state, '.'), env: buildEnv(run, state), logPath });
      log(`${stage.name}: ${step.line} (${elapsed(startedMs)})`);
    }
  }
  return state;
}

/** Every stage, each as soon as the stages it is built from are; the final one's state. */
async function buildStages(run: Run, stages: Stage[]): Promise<StageState> {
  const built = new Map<string, Promise<StageState>>();
  for (const stage of stages) built.set(stage.name, buildStage(run, stage, built));
  const results = await Promise.allSettled(built.values());
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return built.get(stages.at(-1)!.name)!;
}

/** Folders named like a build-only package anywhere under node_modules, and TypeScript sources outside it. */
function buildLeftovers(appDir: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, inModules: boolean) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && !entry.isSymbolicLink()) {
        if (inModules && basename(dir) === 'node_modules' && BUILD_ONLY_PACKAGES.includes(entry.name)) found.push(path);
        else walk(path, inModules || entry.name === 'node_modules');
      } else if (!inModules && /\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        found.push(path);
      }
    }
  };
  walk(appDir, false);
  return found.map((path) => path.slice(appDir.length + 1));
}

interface Compose {
  services: Record<string, { command?: string[]; healthcheck?: { test?: string[] } }>;
}

/** A compose healthcheck `test` as argv (`["CMD", …]`). */
function healthArgv(test: string[] | undefined, service: string): string[] {
  if (!test || test[0] !== 'CMD') throw new Error(`docker-compose.yml: ${service}'s healthcheck is not ["CMD", …]`);
  return test.slice(1);
}

/** The processes the image runs, as compose runs them: the user, its HOME, the command prefix. */
interface Container {
  appDir: string;
  /** Runs argv as the image's user (through setpriv when this process is root). */
  argv(command: string[]): string[];
  env(extra: Record<string, string>): NodeJS.ProcessEnv;
}

function container(run: Run, state: StageState): Container {
  const user = state.user;
  if (!user || user === 'root' || user === '0') throw new Error(`the runtime stage runs as ${user ?? 'root (no USER)'}`);
  const known = spawnSync('id', ['-u', user]).status === 0;
  const asUser = known ? user : 'nobody';
  const home = join(run.scratch, 'home');
  mkdirSync(home);
  const root = process.getuid?.() === 0;
  if (root) {
    const uid = Number(spawnSync('id', ['-u', asUser], { encoding: 'utf8' }).stdout);
    const gid = Number(spawnSync('id', ['-g', asUser], { encoding: 'utf8' }).stdout);
    chownSync(home, uid, gid);
  }
  log(`runtime: USER ${user}; its processes run as ${root ? asUser : 'this user (not root: no switch)'}, over files owned by root`);
  return {
    appDir: inStage(state, '.'),
    argv: (command) => (root ? ['setpriv', '--reuid', asUser, '--regid', asUser === 'nobody' ? 'nogroup' : asUser, '--clear-groups', '--', ...command] : command),
    env: (extra) => ({ PATH: `${run.nodeDir}:/usr/local/bin:/usr/bin:/bin`, HOME: home, ...state.env, ...extra }),
  };
}

/** Exit code of one healthcheck run (as Docker runs it: in the container, as its user, with its environment). */
async function healthcheckCode(box: Container, argv: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  const command = box.argv(argv);
  const child = spawn(command[0]!, command.slice(1), { cwd: box.appDir, env, stdio: 'ignore', timeout: 10_000 });
  return new Promise((done) => child.once('close', (code) => done(code)));
}

async function waitHealthy(box: Container, argv: string[], env: NodeJS.ProcessEnv, what: string, alive: () => void): Promise<void> {
  const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
  while (await healthcheckCode(box, argv, env) !== 0) {
    alive();
    if (Date.now() > deadline) throw new Error(`${what}: the healthcheck ${argv.join(' ')} did not pass within ${HEALTHY_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

interface Started {
  name: string;
  child: ChildProcess;
  logPath: string;
  exit: Promise<number | string | null>;
}

function startProcess(run: Run, box: Container, name: string, command: string[], env: NodeJS.ProcessEnv): Started {
  const argv = box.argv(command);
  const logPath = join(run.logDir, `${name}.log`);
  const out = createWriteStream(logPath);
  const child = spawn(argv[0]!, argv.slice(1), { cwd: box.appDir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exit = new Promise<number | string | null>((done) => child.once('exit', (code, signal) => done(code ?? signal)));
  return { name, child, logPath, exit };
}

/** Throws (with its log) when the process has exited. */
function assertRunning(started: Started): void {
  if (started.child.exitCode !== null || started.child.signalCode !== null) {
    throw new Error(`${started.name} exited (${started.child.exitCode ?? started.child.signalCode}):\n${tail(started.logPath)}`);
  }
}

/** Each container's environment: the services' addresses, production keys of its own, its ports. */
async function appEnvironments(devServer: DevServer, databaseUrl: string) {
  const config = loadConfig();
  const key = () => `image:${randomBytes(32).toString('base64')}`;
  const shared = {
    DATABASE_URL: databaseUrl, REDIS_URL: redisUrlOf(config), TEMPORAL_ADDRESS: devServer.address, TEMPORAL_NAMESPACE: 'default',
    SECRETS_ENCRYPTION_KEYS: key(), TEMPORAL_PAYLOAD_KEYS: key(), WORKER_BUILD_ID: 'check-image', HOST: '127.0.0.1',
    ADMIN_API_KEY: randomBytes(24).toString('base64url'),
    EMAIL_CALLBACK_SECRET: randomBytes(24).toString('base64url'), SMS_CALLBACK_SECRET: randomBytes(24).toString('base64url'),
    PUSH_CALLBACK_SECRET: randomBytes(24).toString('base64url'),
  };
  // In its own container each process is alone: the other's port is free there (the healthcheck's "absent").
  const [apiPort, workerPort, unusedA, unusedB] = [await freePort(), await freePort(), await freePort(), await freePort()];
  return {
    migrate: shared,
    api: { ...shared, PORT: String(apiPort), WORKER_METRICS_PORT: String(unusedA) },
    worker: { ...shared, PORT: String(unusedB), WORKER_METRICS_PORT: String(workerPort) },
  };
}

/**
 * A P2P transfer from an empty account through the running image: the API starts the workflow, the
 * compiled worker runs it from the built bundle with its activities, and it fails
 * `insufficient_funds` — the one answer that needs neither a funded account nor a simulator.
 */
async function transferThroughImage(apiUrl: string, adminApiKey: string): Promise<void> {
  const call = async (key: string, method: string, path: string, body?: object) => {
    const res = await fetch(`${apiUrl}${path}`, {
      method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : null,
    });
    const answer = await res.json() as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  const { api_key: key } = await call(adminApiKey, 'POST', '/v1/admin/tenants', { name: 'check:image' }) as { api_key: string };
  const account = async () => (await call(key, 'POST', '/v1/accounts', { type: 'user', currency: 'USD' })).id as string;
  const [from, to] = [await account(), await account()];
  const { id } = await call(key, 'POST', '/v1/transfers', { from_account_id: from, to_account_id: to, amount: 100, currency: 'USD' }) as { id: string };
  const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
  for (;;) {
    const transfer = await call(key, 'GET', `/v1/transfers/${id}`);
    if (transfer.status === 'failed' && transfer.failure_code === 'insufficient_funds') return;
    if (transfer.status !== 'pending' || Date.now() > deadline) throw new Error(`the transfer through the image: ${JSON.stringify(transfer)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function stopAll(processes: Started[]): Promise<void> {
  for (const { child } of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_TIMEOUT_MS).unref());
  for (const started of processes) {
    const code = await Promise.race([started.exit, timeout]);
    if (code === 'timeout') throw new Error(`${started.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM:\n${tail(started.logPath)}`);
    if (code !== 0) throw new Error(`${started.name} exited ${code} on SIGTERM:\n${tail(started.logPath)}`);
    log(`${started.name}: stopped on SIGTERM (exit 0)`);
  }
}

/** The runtime stage run as compose runs it: migrations, the API and the worker, their healthchecks, a stop. */
async function runImage(run: Run, final: Stage, state: StageState, compose: Compose): Promise<void> {
  const box = container(run, state);
  if (!final.cmd || !final.healthcheck) throw new Error('the runtime stage has no CMD or no HEALTHCHECK');
  const api = compose.services.api?.command;
  if (JSON.stringify(api) !== JSON.stringify(final.cmd)) throw new Error(`compose's api command ${JSON.stringify(api)} is not the image's CMD ${JSON.stringify(final.cmd)}`);
  const [migrate, worker] = [compose.services.migrate?.command, compose.services.worker?.command];
  if (!migrate || !worker) throw new Error('docker-compose.yml: no migrate or worker command');
  const config = loadConfig();
  const databaseUrl = withDatabaseName(config.DATABASE_URL, `steadfast_image_${process.pid}_${Date.now().toString(36)}`);
  const devServer = await startDevServer({
    cliPath: ensureTemporalCli(config.TEMPORAL_CLI_PATH), port: await freePort(), logLevel: 'never', quiet: true, searchAttributes: CUSTOM_SEARCH_ATTRIBUTES,
  }, 120_000);
  const processes: Started[] = [];
  try {
    const env = await appEnvironments(devServer, databaseUrl);
    const healthcheck = final.healthcheck.argv;
    if (await healthcheckCode(box, healthcheck, box.env(env.api)) === 0) throw new Error('the HEALTHCHECK passes with nothing running');
    const migration = startProcess(run, box, 'migrate', migrate, box.env(env.migrate));
    processes.push(migration);
    const migrated = await Promise.race([migration.exit, new Promise<string>((r) => setTimeout(() => r('no exit within 120 s'), 120_000).unref())]);
    processes.pop();
    if (migrated !== 0) throw new Error(`the migrate job failed (${migrated}):\n${tail(migration.logPath)}`);
    log(`migrate: ${migrate.join(' ')} (exit 0)`);
    const startedMs = Date.now();
    processes.push(startProcess(run, box, 'api', final.cmd, box.env(env.api)), startProcess(run, box, 'worker', worker, box.env(env.worker)));
    const alive = () => processes.forEach(assertRunning);
    const [apiHealth, workerHealth] = [healthArgv(compose.services.api?.healthcheck?.test, 'api'), healthArgv(compose.services.worker?.healthcheck?.test, 'worker')];
    await waitHealthy(box, healthcheck, box.env(env.api), 'api', alive);
    await waitHealthy(box, healthcheck, box.env(env.worker), 'worker', alive);
    await waitHealthy(box, apiHealth, box.env(env.api), 'api (compose)', alive);
    await waitHealthy(box, workerHealth, box.env(env.worker), 'worker (compose)', alive);
    log(`api: ${final.cmd.join(' ')}; worker: ${worker.join(' ')}: healthy (HEALTHCHECK ${healthcheck.join(' ')}) in ${elapsed(startedMs)}`);
    await transferThroughImage(`http://127.0.0.1:${env.api.PORT}`, env.api.ADMIN_API_KEY);
    log('a transfer ran through them: the workflow from the built bundle, its activities (failed insufficient_funds, as it must from an empty account)');
    await stopAll(processes);
  } finally {
    for (const { child } of processes) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    await devServer.stop();
    await dropDatabase(databaseUrl).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false }, node: { type: 'string' } } });
  const startedMs = Date.now();
  const nodePath = values.node ? resolve(values.node) : process.execPath;
  const stages = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  const final = stages.at(-1)!;
  const compose = parseYaml(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as Compose;
  const scratch = mkdtempSync(join(tmpdir(), 'steadfast-image-'));
  chmodSync(scratch, 0o755);
  const run: Run = { scratch, context: buildContext(REPO_ROOT), nodeDir: dirname(nodePath), logDir: join(scratch, 'logs') };
  mkdirSync(run.logDir);
  const version = spawnSync(nodePath, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const images = [...new Set(stages.flatMap((stage) => ('image' in stage.base ? [stage.base.image] : [])))];
  log(`${stages.length} stages (${stages.map((s) => s.name).join(', ')}) from ${images.join(', ')}, replayed with node ${version}; context ${run.context.length} files; scratch ${scratch}`);
  try {
    const state = await buildStages(run, stages);
    const leftovers = buildLeftovers(inStage(state, '.'));
    if (leftovers.length > 0) throw new Error(`the runtime stage holds build-only files: ${leftovers.slice(0, 10).join(', ')}`);
    log(`${final.name}: no ${BUILD_ONLY_PACKAGES.join(', ')} in node_modules, no TypeScript source`);
    await runImage(run, final, state, compose);
    log(`ok in ${elapsed(startedMs)}`);
  } finally {
    if (values.keep) log(`kept ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`[image] failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
