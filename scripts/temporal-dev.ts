import { CUSTOM_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { resolve } from 'node:path';
import { loadConfig } from '../platform/config.js';
import { ensureTemporalCli, REPO_ROOT, startDevServer } from '../platform/temporal-dev-server.js';

/**
 * `npm run temporal`: only the Temporal dev server (SQLite under .data/, UI on TEMPORAL_UI_PORT,
 * search attributes TenantId and BusinessStatus), for running the API and worker by hand.
 */
const config = loadConfig();
const [, portText] = config.TEMPORAL_ADDRESS.split(':');
const server = await startDevServer({
  cliPath: ensureTemporalCli(config.TEMPORAL_CLI_PATH),
  searchAttributes: CUSTOM_SEARCH_ATTRIBUTES,
  port: Number(portText ?? 7233),
  uiPort: config.TEMPORAL_UI_PORT,
  dbFile: resolve(REPO_ROOT, config.TEMPORAL_DB_FILE),
  namespace: config.TEMPORAL_NAMESPACE,
  ownProcessGroup: true,
});
console.log(`Temporal dev server on ${server.address}, UI http://localhost:${config.TEMPORAL_UI_PORT}. Ctrl-C stops it.`);
const stop = () => void server.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
