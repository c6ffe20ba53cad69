import { loadConfig } from '../platform/config.js';
import { ensureDatabase, migrateUp } from '../store/migrate.js';

/** `npm run migrate`: creates the database if missing and applies `schema/`. */
const config = loadConfig();
await ensureDatabase(config.DATABASE_URL);
await migrateUp(config.DATABASE_URL, (msg) => console.log(msg));
console.log('migrations applied');
