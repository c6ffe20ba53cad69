import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { tcpAnswers } from '../../platform/embedded-postgres.js';
import { REPO_ROOT } from '../../platform/repo-root.js';

/**
 * `npm run check:fresh`: the README's first command as a newcomer runs it on a laptop with nothing
 * but Node. This process re-runs itself in a network namespace of its own (`unshare -n`, loopback
 * brought up) where no PostgreSQL, Redis or Temporal of this machine can be reached; there it checks
 * that none answers, runs the real `npm start` with no DATABASE_URL, REDIS_URL or TEMPORAL_ADDRESS
 * (its state in a scratch folder of its own, so a running `npm start` beside it is untouched), and
 * once the banner is printed sends a newcomer's requests with the printed demo key: accounts, a
 * top-up, a transfer, a card payment, an in-app notification, an idempotent replay. Then Ctrl-C
 * (SIGINT to npm's process group) must stop everything within a minute (npm gone, nothing listening
 * on the API, Temporal, UI or embedded PostgreSQL ports). Then `npm test` on the parts that need
 * neither Redis nor several instances (every test file that does not reach for Redis itself, minus
 * the multi-process ones: `SINGLE_INSTANCE_EXCLUDED`), on an embedded PostgreSQL of its own
 * (test/global-setup.ts resolves the database as npm start does). The embedded PostgreSQL and the
 * single-instance mode (no Redis) must carry all of it. `--no-tests`: npm start only. Ends with
 * one line of JSON.
 */

const INSIDE = '--inside';
const START_TIMEOUT_MS = Number(process.env.FRESH_START_TIMEOUT_MS ?? 600_000);
const TESTS_TIMEOUT_MS = Number(process.env.FRESH_TESTS_TIMEOUT_MS ?? 1_200_000);
/**
 * Test files that need more than one instance or process tree of the stack (the topology, chaos,
 * drill, the image replay, npm start's own supervisor tests) or the client package's own project.
 */
const SINGLE_INSTANCE_EXCLUDED = [/^scripts\/(topology|chaos|drill|image)\//, /^scripts\/start\.test\.ts$/, /^packages\//];

/** The test files a run without Redis can carry: none of them names Redis. */
function singleInstanceTestFiles(files: readonly string[], read: (file: string) => string): string[] {
  return files.filter((f) => !SINGLE_INSTANCE_EXCLUDED.some((re) => re.test(f)) && !/redis/i.test(read(f)));
}
const STOP_TIMEOUT_MS = 60_000;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

if (process.argv.includes(INSIDE)) {
  inside().then((ok) => process.exit(ok ? 0 : 1), (err) => {
    console.error(`[fresh] ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
} else {
  outside();
}

/** Re-runs this script in a new network namespace with only loopback up. */
function outside(): void {
  const probe = spawnSync('unshare', ['-n', 'true']);
  const args = probe.status === 0 ? ['-n'] : ['-r', '-n']; // not root: a user namespace maps us to root in it
  const self = [process.execPath, ...process.execArgv, process.argv[1]!, INSIDE, ...process.argv.slice(2)];
  const child = spawn('unshare', [...args, '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...self], { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
}

/** Whether something on 127.0.0.1:`port` accepts a connection (within a second). */
function reachable(port: number): Promise<boolean> {
  return tcpAnswers({ host: '127.0.0.1', port }, 1_000);
}

async function inside(): Promise<boolean> {
  const checks: { name: string; ok: boolean; detail: string }[] = [];
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    console.log(`[fresh] ${ok ? '✓' : '✗'} ${name} — ${detail}`);
  };
  const isolated = !(await reachable(5432)) && !(await reachable(6379)) && !(await reachable(7233));
  check('isolated', isolated, 'nothing answers on 127.0.0.1:5432 (PostgreSQL), 6379 (Redis), 7233 (Temporal) in this namespace');
  if (!isolated) return report(checks, {});

  const scratch = resolve(REPO_ROOT, '.data', `fresh-${process.pid}-${Date.now()}`);
  mkdirSync(scratch, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'DATABASE_READ_URL', 'REDIS_URL', 'REDIS_MODE', 'TEMPORAL_ADDRESS', 'ADMIN_API_KEY', 'PORT']) delete env[name];
  Object.assign(env, {
    START_DATA_DIR: scratch, EMBEDDED_PG_DIR: resolve(scratch, 'embedded-postgres'), TEMPORAL_DB_FILE: resolve(scratch, 'temporal.sqlite'),
    npm_config_update_notifier: 'false', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const startedAtMs = Date.now();
  // Its own process group, as in a terminal: Ctrl-C (SIGINT to the group) is how a newcomer stops it.
  const npm = spawn('npm', ['start'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const exited = new Promise<number | null>((done) => npm.once('exit', (code, signal) => done(signal ? null : code)));
  const banner = new Promise<string>((done, fail) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Demo API key\s+\S+/.test(output) && /Ctrl-C stops everything/.test(output)) done(output);
    };
    npm.stdout.on('data', onData);
    npm.stderr.on('data', onData);
    void exited.then((code) => fail(new Error(`npm start exited (${code}) before its banner`)));
    setTimeout(() => fail(new Error(`no banner within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS).unref();
  });
  const figures: Json = {};
  try {
    const text = await banner;
    figures.startS = Math.round((Date.now() - startedAtMs) / 100) / 10;
    const api = /API\s+(http:\/\/\S+)/.exec(text)?.[1];
    const key = /Demo API key\s+(\S+)/.exec(text)?.[1];
    check('banner', Boolean(api && key), `npm start up in ${figures.startS} s: API ${api}, a demo key`);
    const bannerLine = (label: string) => new RegExp(`^ +${label} {2,}(.*)$`, 'm').exec(text)?.[1] ?? `no ${label} line`;
    check('embedded PostgreSQL', bannerLine('PostgreSQL').startsWith('embedded'), bannerLine('PostgreSQL'));
    check('single-instance mode', bannerLine('Redis').startsWith('none'), bannerLine('Redis'));
    if (api && key) await smoke(api, key, check);
  } catch (err) {
    check('banner', false, `${(err as Error).message}; output tail:\n${output.split('\n').slice(-30).join('\n')}`);
  }
  // Ctrl-C: SIGINT to npm's process group (npm, sh, the supervisor); the supervisor stops the rest in order.
  const stopAtMs = Date.now();
  process.kill(-npm.pid!, 'SIGINT');
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_TIMEOUT_MS))]);
  let listening: number[] = [];
  do {
    listening = (await Promise.all([3000, 7233, 8233, 5433].map(async (p) => ((await reachable(p)) ? p : null)))).filter((p) => p !== null);
    if (listening.length > 0) await new Promise((r) => setTimeout(r, 500));
  } while (listening.length > 0 && Date.now() - stopAtMs < STOP_TIMEOUT_MS);
  figures.stopS = Math.round((Date.now() - stopAtMs) / 100) / 10;
  check('stops', code !== 'timeout' && listening.length === 0,
    `Ctrl-C: npm exited (${code === null ? 'by signal' : code}); nothing listening on 3000, 7233, 8233, 5433 after ${figures.stopS} s${listening.length ? ` — still: ${listening.join(', ')}` : ''}`);
  if (code === 'timeout') process.kill(-npm.pid!, 'SIGKILL');
  if (!process.argv.includes('--no-tests')) await singleInstanceTests(env, scratch, check, figures);
  rmSync(scratch, { recursive: true, force: true });
  return report(checks, figures);
}

/** `npm test` on the files a single instance without Redis can carry, on an embedded PostgreSQL. */
async function singleInstanceTests(base: NodeJS.ProcessEnv, scratch: string, check: (name: string, ok: boolean, detail: string) => void, figures: Json): Promise<void> {
  const all = execFileSync('git', ['ls-files', '*.test.ts'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  const files = singleInstanceTestFiles(all, (f) => readFileSync(resolve(REPO_ROOT, f), 'utf8'));
  const env = { ...base, EMBEDDED_PG_DIR: resolve(scratch, 'test-postgres') };
  const startedAtMs = Date.now();
  const vitest = spawn('npm', ['test', '--', ...files], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  vitest.stdout.on('data', (c: Buffer) => (output += c.toString()));
  vitest.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => vitest.kill('SIGKILL'), TESTS_TIMEOUT_MS);
  const code = await new Promise<number | null>((done) => vitest.once('exit', (c) => done(c)));
  clearTimeout(timer);
  figures.testsS = Math.round((Date.now() - startedAtMs) / 1000);
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const summary = ['Test Files', 'Tests'].map((label) => new RegExp(`^\\s*${label}\\s+(.*)$`, 'm').exec(plain)?.[1]?.trim() ?? '?');
  figures.testFiles = files.length;
  const logFile = resolve(REPO_ROOT, '.data', 'fresh-tests.log');
  writeFileSync(logFile, plain);
  const failed = plain.split('\n').filter((line) => /^\s*(FAIL|×)\s/.test(line) || /Error:/.test(line)).slice(0, 40);
  check('npm test (single instance)', code === 0,
    `${files.length} of ${all.length} test files without Redis on an embedded PostgreSQL: files ${summary[0]}; tests ${summary[1]}; ${figures.testsS} s`
      + (code === 0 ? '' : `; the run's output in ${logFile}; failures:\n${failed.join('\n')}`));
}

function report(checks: { name: string; ok: boolean }[], figures: Json): boolean {
  const ok = checks.length > 0 && checks.every((c) => c.ok);
  console.log(JSON.stringify({ check: 'fresh', ...figures, verdicts: Object.fromEntries(checks.map((c) => [c.name, c.ok])), ok }));
  return ok;
}

/** A newcomer's first requests with the demo key; each checked against the contract's answer. */
async function smoke(api: string, key: string, check: (name: string, ok: boolean, detail: string) => void): Promise<void> {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: Json = {};
    try {
      json = JSON.parse(text) as Json;
    } catch {
      json = { text };
    }
    return { status: res.status, body: json, replayed: res.headers.get('idempotent-replayed') };
  };
  const account = async (type: 'user' | 'merchant') => (await call('POST', '/v1/accounts', { type, currency: 'USD' })).body.id as string;
  const [alice, bob, shop] = [await account('user'), await account('user'), await account('merchant')];
  check('accounts', [alice, bob, shop].every((id) => typeof id === 'string'), `${alice}, ${bob}, ${shop}`);

  const topup = await call('POST', '/v1/topups', { account_id: alice, amount: 10_000, currency: 'USD', source: { type: 'bank_account', token: 'btok_success' } });
  check('top-up', topup.status === 201 && topup.body.status === 'succeeded', `${topup.status} ${topup.body.status ?? JSON.stringify(topup.body)}`);

  const transferBody = { from_account_id: alice, to_account_id: bob, amount: 2_500, currency: 'USD' };
  const idem = { 'idempotency-key': `fresh-${Date.now()}` };
  const transfer = await call('POST', '/v1/transfers', transferBody, idem);
  const replay = await call('POST', '/v1/transfers', transferBody, idem);
  const balances = await Promise.all([alice, bob].map(async (id) => (await call('GET', `/v1/accounts/${id}`)).body.balance as number));
  check('transfer', transfer.status === 201 && transfer.body.status === 'succeeded' && balances[0] === 7_500 && balances[1] === 2_500,
    `${transfer.status} ${transfer.body.status}; balances ${balances.join(' / ')} (7500 / 2500 expected)`);
  check('idempotent replay', replay.status === transfer.status && replay.body.id === transfer.body.id && replay.replayed === 'true',
    `the same key again: ${replay.status}, ${replay.body.id === transfer.body.id ? 'the same transfer' : 'another transfer'}, Idempotent-Replayed ${replay.replayed}`);

  const payment = await call('POST', '/v1/payments', {
    amount: 1_200, currency: 'USD', merchant_account_id: shop, payment_method: { type: 'card', token: 'tok_visa' },
  });
  check('payment', payment.status === 201 && payment.body.status === 'captured', `${payment.status} ${payment.body.status ?? JSON.stringify(payment.body)}`);

  const template = await call('POST', '/v1/notification-templates', { id: `fresh-${Date.now()}`, channels: { in_app: { title: 'Hello', body: 'Hi {{name}}' } } });
  const userId = `fresh-user-${Date.now()}`;
  const sent = await call('POST', '/v1/notifications', { user_id: userId, template_id: template.body.id, data: { name: 'newcomer' }, channels: ['in_app'], priority: 'high' });
  let delivery = '';
  for (let i = 0; i < 100 && sent.status === 202; i++) {
    delivery = ((await call('GET', `/v1/notifications/${sent.body.id}`)).body.deliveries?.[0]?.status as string | undefined) ?? '';
    if (delivery === 'sent') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const inbox = await call('GET', `/v1/users/${userId}/inbox`);
  check('notification', delivery === 'sent' && Array.isArray(inbox.body.data) && inbox.body.data.length === 1,
    `template ${template.status}, notification ${sent.status}, in-app ${delivery || 'not sent'}, inbox ${inbox.body.data?.length ?? inbox.status}`);
}
