import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTenant } from '../api/admin/tenants.js';
import { EXECUTION_STATUSES } from '../api/ops/workflow-ops.js';
import { createPool } from '../store/db.js';
import { insertAccount } from '../store/ledger/accounts.js';
import { dropDatabase, ensureDatabase, migrateUp } from '../store/migrate.js';
import { BusinessStatus, TenantId } from '../workflows/search-attributes.js';
import { COMMANDS } from './ops/commands.js';
import { usageText } from './ops/parse.js';

const SCRIPT = fileURLToPath(new URL('./ops.ts', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** `npm run ops -- …` as a process of its own (what an operator runs), with `env` as its whole environment. */
function ops(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}

/** The environment the tests run with, minus anything that would send the CLI elsewhere. */
function baseEnv(overrides: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ...overrides };
  delete env.DATABASE_READ_URL;
  return env;
}

describe('ops CLI without any service', () => {
  /** Listens where DATABASE_URL, TEMPORAL_ADDRESS and REDIS_URL point, answers nothing, counts who dials. */
  let spy: Server;
  const dialed: Socket[] = [];
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    spy = createServer((socket) => {
      dialed.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => spy.listen(0, '127.0.0.1', resolve));
    const { port } = spy.address() as { port: number };
    env = baseEnv({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/steadfast`,
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
  });
  afterAll(async () => {
    for (const socket of dialed) socket.destroy();
    await new Promise((resolve) => spy?.close(resolve));
  });

  // Nothing dialed is the proof; the time bound is the symptom an operator sees. Help takes 0.2–0.3 s
  // on an idle machine (a cold tsx start included) and up to ~2.5 s on this 2-core box under a load
  // of 20; a command that dials Temporal waits its 10 s connect deadline on the silent listener.
  const INSTANT_MS = 8_000;

  it.each([[[]], [['--help']], [['-h']], [['help']], [['--json']]])('%j prints the usage and exits 0 at once', async (args) => {
    const run = await ops(args, env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.trim()).toBe(usageText());
    for (const command of COMMANDS) expect(run.stdout).toContain(`  ${command.name}`);
    expect(run.stdout).toMatch(/--json .*JSON/);
    expect(run.stdout).toMatch(/Examples:\n {2}npm run ops -- list/);
    expect(run.elapsedMs).toBeLessThan(INSTANT_MS);
    expect(dialed).toHaveLength(0);
  });

  it('per-command help: list --help, help audit, deployment -h (with its actions)', async () => {
    const list = await ops(['list', '--help'], env);
    expect(list.code).toBe(0);
    for (const option of ['--type <type>', '--status <status>', '--business-status <status>', '--older-than <age>', '--limit <n>', '--json']) {
      expect(list.stdout).toContain(option);
    }
    expect(list.stdout).toContain('npm run ops -- list --type paymentSaga --business-status authorized --older-than 15m');
    expect(list.stdout).not.toContain('reseal-secrets');

    const audit = await ops(['help', 'audit'], env);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/^Usage: npm run ops -- audit \[--tenant-id <tnt_…>\] \[--json\]/);

    const deployment = await ops(['deployment', '-h'], env);
    expect(deployment.code).toBe(0);
    expect(deployment.stdout).toContain('deployment set-current <build-id>');
    expect(deployment.stdout).toContain('deployment ramp <build-id> <percent>');
    expect(Math.max(list.elapsedMs, audit.elapsedMs, deployment.elapsedMs)).toBeLessThan(INSTANT_MS);
    expect(dialed).toHaveLength(0);
  });

  it('an unknown command or a bad command line exits 2 with the usage on stderr, nothing on stdout, nothing dialed', async () => {
    const unknown = await ops(['frobnicate'], env);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/^npm run ops: unknown command: frobnicate\n\nSteadfast operations/);
    expect(unknown.stderr).toContain(usageText());

    const cases: [string[], RegExp][] = [
      [['deployment', 'promote', 'x'], /unknown command: deployment promote/],
      [['list', '--nope'], /Unknown option '--nope'/],
      [['list', '--status', 'sleeping'], /--status is one of running, completed, .*, not sleeping/],
      [['list', '--older-than', 'soon'], /--older-than takes an age/],
      [['list', '--limit', '101'], /--limit must be an integer from 1 to 100/],
      [['terminate', 'transfer-tr_x'], /terminate needs --reason <text>/],
      [['cancel'], /missing <workflow-id>/],
      [['cancel', 'a', 'b'], /unexpected argument: b/],
      [['audit', '--reason', 'x'], /audit takes no --reason/],
      [['deployment', 'ramp', '0.3.0', '150'], /<percent> is a number from 0 to 100, not 150/],
    ];
    for (const [args, message] of cases) {
      const run = await ops(args, env);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(new RegExp(`Usage: npm run ops -- ${args[0]}`));
    }
    expect(dialed).toHaveLength(0);
  });

  it('new-sealing-key needs no configuration at all', async () => {
    const run = await ops(['new-sealing-key', '--id', 'k2'], { PATH: process.env.PATH });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^k2:[A-Za-z0-9+/]{43}=\n$/);
    const json = await ops(['new-sealing-key', '--id', 'k3', '--json'], { PATH: process.env.PATH });
    expect(JSON.parse(json.stdout)).toEqual({ key: expect.stringMatching(/^k3:/) });
    expect((await ops(['new-sealing-key', '--id', 'no:colons'], { PATH: process.env.PATH })).code).toBe(2);
  });

  it('the help names every status the list accepts', () => {
    expect(usageText()).toContain('list [options]');
    const listHelp = COMMANDS.find((c) => c.name === 'list')!.options.status.description;
    expect(listHelp.split(', ').sort()).toEqual(Object.keys(EXECUTION_STATUSES).sort());
  });
});

describe('ops CLI against the run\'s services', () => {
  let temporal: Client;
  let connection: Connection;
  const workflowType = `opsCliProbe${randomUUID().slice(0, 8)}`;
  const workflowId = `ops-cli-${randomUUID()}`;
  const tenantId = `tnt_opscli${randomUUID().slice(0, 8)}`;
  let startedAt: Date;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    env = baseEnv({ DATABASE_URL: inject('databaseUrl'), TEMPORAL_ADDRESS: inject('temporalAddress') });
    connection = await Connection.connect({ address: inject('temporalAddress') });
    temporal = new Client({ connection, namespace: 'default' });
    // A run nobody polls for: it stays running, as a stuck one does.
    const handle = await temporal.workflow.start(workflowType, {
      workflowId, taskQueue: `ops-cli-${randomUUID()}`, args: [],
      typedSearchAttributes: [{ key: BusinessStatus, value: 'pending' }, { key: TenantId, value: tenantId }],
    });
    startedAt = (await handle.describe()).startTime;
  });
  afterAll(async () => {
    await temporal?.workflow.getHandle(workflowId).terminate('ops.test cleanup').catch(() => undefined);
    await connection?.close();
  });

  it('list prints an aligned table by default and the API\'s form with --json; terminate through it', async () => {
    const args = ['list', '--type', workflowType, '--status', 'running'];
    await expect.poll(async () => (await ops(args, env)).stdout, { timeout: 30_000, interval: 500 }).toContain(workflowId);
    const table = await ops(args, env);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const [header, row, blank, footer] = table.stdout.trimEnd().split('\n');
    const cells: [string, string][] = [
      ['WORKFLOW ID', workflowId], ['TYPE', workflowType], ['STATUS', 'running'], ['BUSINESS STATUS', 'pending'],
      ['STARTED', `${startedAt.toISOString().slice(0, 10)} ${startedAt.toISOString().slice(11, 19)}Z`],
    ];
    expect(header).toMatch(/^WORKFLOW ID +TYPE +STATUS +BUSINESS STATUS +STARTED$/);
    // Aligned: every cell starts where its header does.
    for (const [title, value] of cells) expect(row!.slice(header!.indexOf(title)).startsWith(value)).toBe(true);
    expect([blank, footer]).toEqual(['', '1 run']);

    const json = await ops([...args, '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      object: 'list', has_more: false,
      data: [{
        object: 'workflow_run', workflow_id: workflowId, run_id: expect.any(String), type: workflowType, status: 'running',
        business_status: 'pending', tenant_id: tenantId, worker_version: null, start_time: startedAt.toISOString(), close_time: null,
      }],
    });

    const terminated = await ops(['terminate', workflowId, '--reason', 'ops.test'], env);
    expect(terminated).toMatchObject({ code: 0, stdout: `${workflowId}: terminated (no compensation ran).\n` });
    expect((await temporal.workflow.getHandle(workflowId).describe()).status.name).toBe('TERMINATED');
    const again = await ops(['cancel', 'ops-cli-no-such-run', '--json'], env);
    expect(again).toMatchObject({ code: 1, stdout: '' });
    expect(JSON.parse(again.stderr)).toMatchObject({ error: { code: 'resource_missing' } });
  });

  describe('audit, on a database of its own with a planted problem', () => {
    let databaseUrl: string;
    let pool: pg.Pool;
    let accountId: string;
    let tenant: string;

    beforeAll(async () => {
      const url = new URL(inject('databaseUrl'));
      url.pathname = `${url.pathname}_opscli`;
      databaseUrl = url.toString();
      await ensureDatabase(databaseUrl);
      await migrateUp(databaseUrl);
      pool = createPool(databaseUrl, 2);
      tenant = (await createTenant(pool, 'ops cli')).id;
      accountId = (await insertAccount(pool, { tenantId: tenant, type: 'system', currency: 'USD' })).id;
      // A balance no entry explains.
      await pool.query('UPDATE accounts SET balance = 500 WHERE id = $1', [accountId]);
    });
    afterAll(async () => {
      await pool?.end();
      if (databaseUrl) await dropDatabase(databaseUrl);
    });

    it('prints a summary and the problems as a table, the report with --json; exit 1 on a problem', async () => {
      const auditEnv = { ...env, DATABASE_URL: databaseUrl };
      const table = await ops(['audit'], auditEnv);
      expect(table.code).toBe(1);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('Ledger audit of the whole ledger: 1 problem (checked 1 account, 0 transactions, 0 entries).');
      expect(lines[2]).toMatch(/^KIND +ID +DETAIL$/);
      expect(lines[3]).toMatch(new RegExp(`^balance_mismatch +${accountId} +balance 500 but entries sum to 0$`));
      expect(lines).toHaveLength(4);

      const json = await ops(['audit', '--json'], auditEnv);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toEqual({
        ok: false, checked: { accounts: 1, transactions: 0, entries: 0 },
        problems: [{ kind: 'balance_mismatch', id: accountId, detail: 'balance 500 but entries sum to 0' }],
      });

      const otherTenant = await ops(['audit', '--tenant-id', 'tnt_nobody'], auditEnv);
      expect(otherTenant).toMatchObject({ code: 0, stderr: '' });
      expect(otherTenant.stdout).toBe('Ledger audit of tenant tnt_nobody: OK (checked 0 accounts, 0 transactions, 0 entries).\n\nNo problems.\n');
    });
  });
});
