import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { auditLedger } from '../store/ledger/audit.js';
import {
  cancelWorkflow, EXECUTION_STATUSES, listWorkflows, parseDurationMs, retryWorkflow, terminateWorkflow,
  type ExecutionStatus,
} from '../api/ops/workflow-ops.js';
import { loadConfig } from '../platform/config.js';
import { clientConnectionOptions } from '../platform/temporal-connection.js';
import { dataConverterOf } from '../platform/payload-codec.js';
import { createPool } from '../store/db.js';
import { reconcileStarts } from '../workers/start-reconciler.js';
import { secretBoxOf } from '../platform/config-security.js';
import { newSealingKey } from '../platform/secrets.js';
import { resealSecrets } from '../store/security/reseal.js';
import { sealClearWebhookSecrets } from '../store/notifications/webhook-endpoints.js';
import { describeDeployment, setCurrentVersion, setRampingVersion } from '../platform/worker-deployment.js';

const USAGE = `npm run ops -- <command>
  list [--type T] [--status running|failed|…] [--business-status S] [--worker-version steadfast:0.1.0] [--older-than 15m] [--limit N]
  cancel <workflow-id>                 request cancellation (the saga compensates)
  terminate <workflow-id> --reason R   stop at once, no compensation
  retry <workflow-id> --reason R       reset to the last completed workflow task
  audit                                check the ledger invariants
  seal-webhook-secrets                 seal webhook secrets still stored in clear (the worker does it at start)
  new-sealing-key [--id k2]            print a new SECRETS_ENCRYPTION_KEYS entry (kid:base64 of 32 random bytes)
  reseal-secrets                       re-seal stored secrets with the first SECRETS_ENCRYPTION_KEYS key (key rotation)
  reconcile-starts [--older-than 60s]  one start-reconciler pass: rows left without a workflow run get one
  deployment                           the Worker Deployment: current and ramping version, every version's status and drainage
  deployment set-current <build-id>    make a version current: new runs and every Auto-Upgrade run move to it (also: roll back)
  deployment ramp <build-id> <percent> send a share of runs to a version before making it current (0 ends the ramp)`;

/** The ops API from a terminal, against TEMPORAL_ADDRESS and DATABASE_URL. */
async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      type: { type: 'string' }, status: { type: 'string' }, 'business-status': { type: 'string' },
      'older-than': { type: 'string' }, limit: { type: 'string' }, reason: { type: 'string' }, id: { type: 'string' },
      'worker-version': { type: 'string' },
    },
  });
  const [command, workflowId] = positionals;
  if (command === 'new-sealing-key') {
    // Before loadConfig: it is how a production environment gets its first key.
    console.log(newSealingKey(values.id ?? `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`));
    return 0;
  }
  const config = loadConfig();
  if (command === 'seal-webhook-secrets') {
    const pool = createPool(config.DATABASE_URL, 1);
    try {
      console.log(JSON.stringify({ sealed: await sealClearWebhookSecrets(pool, secretBoxOf(config)) }));
      return 0;
    } finally {
      await pool.end();
    }
  }
  if (command === 'reseal-secrets') {
    const pool = createPool(config.DATABASE_URL, 1);
    try {
      console.log(JSON.stringify(await resealSecrets(pool, secretBoxOf(config))));
      return 0;
    } finally {
      await pool.end();
    }
  }
  if (command === 'audit') {
    const pool = createPool(config.DATABASE_URL, 1);
    try {
      const report = await auditLedger(pool);
      console.log(JSON.stringify(report, null, 2));
      return report.ok ? 0 : 1;
    } finally {
      await pool.end();
    }
  }
  const connection = await Connection.connect(clientConnectionOptions(config));
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(config) });
  try {
    if (command === 'reconcile-starts') return await reconcileOnce(client, config, values['older-than']);
    if (command === 'deployment') return await deployment(client, config, positionals.slice(1));
    const result = await run(client, command, workflowId, values);
    if (result === null) {
      console.error(USAGE);
      return 2;
    }
    console.log(JSON.stringify(result, null, 2));
    return 0;
  } finally {
    await connection.close();
  }
}

/** One start-reconciler pass (workers/start-reconciler.ts), for rows older than `olderThan` (default RECONCILE_AFTER_MS). */
async function reconcileOnce(client: Client, config: ReturnType<typeof loadConfig>, olderThan: string | undefined): Promise<number> {
  const afterMs = olderThan === undefined ? config.RECONCILE_AFTER_MS : parseDurationMs(olderThan);
  if (afterMs === null) {
    console.error(USAGE);
    return 2;
  }
  const pool = createPool(config.DATABASE_URL, 2);
  try {
    console.log(JSON.stringify(await reconcileStarts({ pool, temporal: client, config, afterMs }), null, 2));
    return 0;
  } finally {
    await pool.end();
  }
}

/** `deployment [set-current <build-id> | ramp <build-id> <percent>]` on WORKER_DEPLOYMENT_NAME. */
async function deployment(client: Client, config: ReturnType<typeof loadConfig>, args: string[]): Promise<number> {
  const [action, buildId, percentText] = args;
  const deploymentName = config.WORKER_DEPLOYMENT_NAME;
  if (action === 'set-current' && buildId) {
    const { previousBuildId } = await setCurrentVersion(client, { deploymentName, buildId }, { identity: 'npm run ops' });
    console.log(JSON.stringify({ deployment: deploymentName, current: buildId, previous: previousBuildId }));
    return 0;
  }
  if (action === 'ramp' && buildId && percentText !== undefined) {
    const percentage = Number(percentText);
    if (!Number.isFinite(percentage) || percentage < 0 || percentage > 100) return usage();
    await setRampingVersion(client, { deploymentName, buildId: percentage === 0 ? '' : buildId }, percentage, { identity: 'npm run ops' });
    console.log(JSON.stringify({ deployment: deploymentName, ramping: percentage === 0 ? null : { buildId, percentage } }));
    return 0;
  }
  if (action !== undefined) return usage();
  const described = await describeDeployment(client, deploymentName);
  console.log(JSON.stringify(described ?? { deployment: deploymentName, error: 'no worker has polled under this deployment name' }, null, 2));
  return described ? 0 : 1;
}

function usage(): number {
  console.error(USAGE);
  return 2;
}

async function run(client: Client, command: string | undefined, workflowId: string | undefined, values: Record<string, string | undefined>) {
  if (command === 'list') {
    const status = values.status as ExecutionStatus | undefined;
    if (status && !(status in EXECUTION_STATUSES)) return null;
    const olderThanMs = values['older-than'] ? parseDurationMs(values['older-than']) ?? undefined : undefined;
    return listWorkflows(client, {
      type: values.type, status, businessStatus: values['business-status'], workerVersion: values['worker-version'], olderThanMs,
      limit: Math.min(100, Number(values.limit ?? 20)),
    });
  }
  if (!workflowId) return null;
  if (command === 'cancel') return cancelWorkflow(client, workflowId);
  if (!values.reason) return null;
  if (command === 'terminate') return terminateWorkflow(client, workflowId, values.reason);
  if (command === 'retry') return retryWorkflow(client, workflowId, values.reason);
  return null;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
