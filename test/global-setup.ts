// First: the run's log settings (LOG_FILE, LOG_LEVEL) before anything imports the logger.
import { RUN_ID, RUN_LOG_FILE } from './run-logs.js';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { auditLedger, type AuditReport } from '../store/ledger/audit.js';
import { loadConfig } from '../platform/config.js';
import { resolveDatabase } from '../platform/embedded-postgres.js';
import { resolveRedisMode } from '../platform/redis-mode.js';
import { withDatabaseName } from '../platform/postgres-url.js';
import { createPool } from '../store/db.js';
import { dropDatabase, ensureDatabase, migrateUp } from '../store/migrate.js';
import { ensureTemporalCli, freePort, REPO_ROOT, startDevServer, waitForTemporal } from '../platform/temporal-dev-server.js';
import { workflowBundleOptions } from '../workers/workflow-bundle.js';
import { startProcessorsServer } from '../simulators/processors/server.js';
import { temporalLogger } from '../platform/temporal-logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    redisUrl: string;
    workflowBundlePath: string;
    processorsUrl: string;
    /** Where test/whole-run-audit.test.ts leaves its report for the teardown. */
    wholeRunAuditPath: string;
    /** The run's log file (test/run-logs.ts), grepped by test/whole-run-logs.test.ts. */
    runLogFile: string;
  }
}

/**
 * One Temporal dev server (in memory, headless), one migrated database and one workflow bundle
 * for the whole run; test files get their addresses through `inject`. The ledger of the whole run
 * is audited by test/whole-run-audit.test.ts, a reported test that runs after every other file
 * (vitest.config.ts); the teardown keeps the database when that audit failed, and audits itself
 * (failing the run) when the audit file was not part of the run (a run of a few files).
 */
export default async function setup(project: TestProject) {
  const config = loadConfig();
  const runId = RUN_ID;
  // As npm start: DATABASE_URL, else the machine's PostgreSQL on 127.0.0.1:5432, else an embedded
  // one (its own data folder: an npm start beside the run keeps its own).
  const database = await resolveDatabase({ ...config, EMBEDDED_PG_DIR: process.env.EMBEDDED_PG_DIR ?? '.data/test/embedded-postgres' });
  // DATABASE_URL may name several hosts (a primary and its standby): keep them, change the database.
  const databaseUrl = withDatabaseName(database.url, `steadfast_test_${runId}`);

  const [server] = await Promise.all([
    process.env.TEMPORAL_TARGET === 'cluster' ? runningServer(process.env.TEMPORAL_ADDRESS || CLUSTER_ADDRESS)
      // 'never': the server's own errors at teardown (its deployment workflows cancelled as it stops) are not ours to print.
      : startDevServer({ cliPath: ensureTemporalCli(config.TEMPORAL_CLI_PATH), port: await freePort(), logLevel: 'never', quiet: true, searchAttributes: CUSTOM_SEARCH_ATTRIBUTES }, 120_000),
    ensureDatabase(databaseUrl).then(() => migrateUp(databaseUrl)),
  ]);
  const processors = await startProcessorsServer({ port: 0 });
  const { code } = await bundleWorkflowCode(workflowBundleOptions(temporalLogger()));
  const bundleDir = resolve(REPO_ROOT, '.data/test');
  mkdirSync(bundleDir, { recursive: true });
  const workflowBundlePath = resolve(bundleDir, `workflow-bundle-${runId}.js`);
  writeFileSync(workflowBundlePath, code);
  const wholeRunAuditPath = resolve(bundleDir, `whole-run-audit-${runId}.json`);

  project.provide('temporalAddress', server.address);
  project.provide('databaseUrl', databaseUrl);
  // Redis as npm start decides it: REDIS_URL, else the machine's on 127.0.0.1:6379, else none ('').
  const redisMode = await resolveRedisMode(config);
  project.provide('redisUrl', redisMode.mode === 'external' ? redisMode.url : '');
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('processorsUrl', processors.url);
  project.provide('wholeRunAuditPath', wholeRunAuditPath);
  project.provide('runLogFile', RUN_LOG_FILE);

  return async function teardown() {
    try {
      await finish();
    } finally {
      await database.embedded?.stop(); // ours (embedded): after the database was dropped, or kept for a post-mortem
    }
  };

  async function finish() {
    let report: AuditReport | null = null;
    let auditedHere = false;
    try {
      report = readReport(wholeRunAuditPath);
      if (!report) {
        auditedHere = true;
        const pool = createPool(databaseUrl, 1);
        try {
          report = await auditLedger(pool);
        } finally {
          await pool.end();
        }
      }
    } finally {
      await server.stop();
      await processors.close();
      rmSync(workflowBundlePath, { force: true });
      rmSync(wholeRunAuditPath, { force: true });
    }
    console.log(`[test] ledger audit of the whole run: ${JSON.stringify(report.checked)} ok=${report.ok}`);
    if (!report.ok) {
      // Keep the database for a post-mortem. The audit test has failed already and shows the problems.
      console.error(`[test] ledger audit failed: database ${databaseUrl} kept`);
      if (auditedHere) throw new Error(`Ledger audit failed (database ${databaseUrl} kept): ${JSON.stringify(report.problems)}`);
      return;
    }
    await dropDatabase(databaseUrl);
  }
}

/**
 * `TEMPORAL_TARGET=cluster` (opt-in, issue #15): the run uses the Temporal server already at
 * TEMPORAL_ADDRESS (default: `npm run cluster`'s, Temporal Server on PostgreSQL) instead of starting
 * a dev server; it must have the namespace and our search attributes (the cluster script registers
 * them), and it is left running. Files that start dev servers of their own still do.
 */
const CLUSTER_ADDRESS = '127.0.0.1:7833';
async function runningServer(address: string): Promise<{ address: string; stop(): Promise<void> }> {
  await waitForTemporal(address, 10_000).catch((err: unknown) => {
    throw new Error(`TEMPORAL_TARGET=cluster: no Temporal server at ${address} (start one with npm run cluster): ${String(err)}`);
  });
  return { address, stop: async () => undefined };
}
if (![undefined, '', 'dev', 'cluster'].includes(process.env.TEMPORAL_TARGET)) {
  throw new Error(`TEMPORAL_TARGET must be dev (the default) or cluster, not ${process.env.TEMPORAL_TARGET}`);
}

/** The report test/whole-run-audit.test.ts wrote, or null when it did not run. */
function readReport(path: string): AuditReport | null {
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as AuditReport;
}
