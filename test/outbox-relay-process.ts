import { Client, Connection } from '@temporalio/client';
import { loadConfig, taskQueues } from '../platform/config.js';
import { clientConnectionOptions } from '../platform/temporal-connection.js';
import { dataConverterOf } from '../platform/payload-codec.js';
import { eventWorkflowSettings } from '../platform/notification-settings.js';
import { createPool } from '../store/db.js';
import { workflowContracts } from '../workflows/contracts.js';
import { startOutboxRelay } from '../workers/outbox-relay.js';
import { childLogger, setLogService } from '../platform/log.js';

/**
 * A process that runs only the outbox relay (the code the worker process runs), for the tenants
 * named on the command line, configured from the environment like `workers/main.ts`
 * (OUTBOX_FAULT_DELAY_BEFORE_COMMIT_MS included). The relay crash test kills it mid-batch. Not the
 * worker process itself: that one's relay has no tenant filter (the test database is shared by
 * every test file), and its workers would take the test's event runs and die with them.
 */
setLogService('relay');
const config = loadConfig();
const tenantIds = process.argv.slice(2);
if (tenantIds.length === 0) throw new Error('usage: outbox-relay-process.ts <tenant id>...');
const connection = await Connection.connect(clientConnectionOptions(config));
await startOutboxRelay({
  pool: createPool(config.DATABASE_URL, 5),
  databaseUrl: config.DATABASE_URL,
  temporal: new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(config) }),
  batchSize: config.OUTBOX_BATCH_SIZE,
  pollIntervalMs: config.OUTBOX_POLL_INTERVAL,
  taskQueue: taskQueues(config)[workflowContracts.domainEvent.queue],
  eventInput: eventWorkflowSettings(config),
  tenantIds,
  faultDelayBeforeCommitMs: config.OUTBOX_FAULT_DELAY_BEFORE_COMMIT_MS,
});
childLogger({ component: 'outbox-relay' }).info({ tenantIds }, 'relaying');
// Runs until it is killed.
