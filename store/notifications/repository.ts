/**
 * The notification store (issue #5), one module per table (and `recipients` for the planning
 * reads across them). Every function takes a `pg` pool or client, so the caller decides the
 * transaction; the writers that must be atomic with the caller's other writes (createNotification,
 * requeueDeadLetter) require a client inside one. Reads return the resources as the API shows them
 * (snake_case, ISO timestamps).
 */
export * from './contacts.js';
export * from './deliveries.js';
export * from './inbox.js';
export * from './notifications.js';
export * from './preferences.js';
export * from './recipients.js';
export * from './templates.js';
export * from './webhook-endpoints.js';
