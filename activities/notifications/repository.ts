/**
 * The notification repository (issue #5), one small file per table family. Every function takes a
 * `pg` pool or client, so the caller decides the transaction; the writers that must be atomic with
 * the caller's other writes (createNotification, requeueDeadLetter) require a client inside one.
 * Reads return the resources as the API shows them (snake_case, ISO timestamps).
 */
export * from './contacts.js';
export * from './deliveries.js';
export * from './inbox.js';
export * from './notifications.js';
export { PAGE_LIMIT_MAX, type ListPage, type PageQuery } from './rows.js';
export * from './templates.js';
export * from './webhook-endpoints.js';
