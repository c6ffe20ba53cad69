/** Notifications (issue #5): providers, retries, queues, outbox relay. Spread into the one schema in platform/config.ts. */
export const notificationEnv = {};
