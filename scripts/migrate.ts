import { loadConfig } from '../platform/config.js';
import { ensureDatabase, migrateUp } from '../store/migrate.js';
import { childLogger, setLogService } from '../platform/log.js';

setLogService('migrate');
const log = childLogger({ component: 'migrate' });

/** `npm run migrate`: creates the database if missing and applies `schema/`. */
const config = loadConfig();
await ensureDatabase(config.DATABASE_URL);
await migrateUp(config.DATABASE_URL, (msg) => log.info(msg));
log.info('migrations applied');
