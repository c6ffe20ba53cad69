import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { createClient, withTransaction } from '../store/db.js';
import {
  claimOutboxEvents, listenOutbox, markOutboxEventsRelayed, purgeRelayedEvents, type ClaimedOutboxEvent,
} from '../store/outbox/outbox.js';
import { metrics } from '../platform/metrics.js';
import { TenantId, BusinessStatus } from '../workflows/search-attributes.js';
import { workflowContracts, workflowIdOf, type WorkflowInput } from '../workflows/contracts.js';
import { childLogger } from '../platform/log.js';

const log = childLogger({ component: 'outbox-relay' });

export interface OutboxRelayOptions {
  pool: pg.Pool;
  /** A dedicated connection string for LISTEN (a pooled client cannot hold a LISTEN). */
  databaseUrl: string;
  temporal: Client;
  batchSize: number;
  pollIntervalMs: number;
  /** Everything the event workflow needs from config except the event itself. */
  eventInput: Omit<WorkflowInput<'domainEvent'>, 'tenantId' | 'eventId' | 'topic'>;
  taskQueue: string;
  /** Relayed events older than this are purged (hourly, in bounded batches); absent: never. */
  retentionMs?: number;
  /**
   * Ask the server to hand each event workflow's first task straight back to a worker of this
   * process (eager workflow start): only when `temporal` runs on the NativeConnection of a worker
   * that polls `taskQueue`; otherwise the server dispatches it as usual. Saves a matching round
   * trip per event (issue #14); a run started eagerly is as durable as any other.
   */
  eagerStart?: boolean;
  /** Only these tenants' events (tests share one database); all when absent. */
  tenantIds?: string[];
  /**
   * Fault injection for crash drills and tests (OUTBOX_FAULT_DELAY_BEFORE_COMMIT_MS): a batch pauses
   * this long after its workflows started, before its commit. 0 or absent in production.
   */
  faultDelayBeforeCommitMs?: number;
}

export interface OutboxRelay {
  /** Claims and relays batches until the outbox is empty; returns how many events it relayed. */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The transactional outbox's relay. In one transaction it claims a bounded batch of unprocessed
 * events (`FOR UPDATE SKIP LOCKED`: relays in several processes share the work), starts the
 * `event-<evt_id>` workflow of each (an id Temporal refuses to start twice, even after the run
 * closed), and marks them processed. A crash before the commit leaves them unprocessed: the next
 * relay starts them again, Temporal answers "already started", and they are marked — each event
 * reaches its workflow exactly once. It sleeps on LISTEN outbox (a trigger NOTIFYs on insert), with
 * a poll as a safety net.
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  let stopped = false;
  let wake: (() => void) | null = null;
  // The LISTEN connection; null once lost (a database failover drops it): the poll keeps the relay
  // going and each round tries to listen again.
  let listener: pg.Client | null = null;
  async function listen(): Promise<void> {
    const client = createClient(options.databaseUrl);
    client.on('notification', () => wake?.());
    client.on('error', () => undefined);
    client.once('end', () => {
      if (listener === client) listener = null;
    });
    try {
      await client.connect();
      await listenOutbox(client);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    listener = client;
  }
  // A database failover may be under way as the worker starts: the poll relays without LISTEN meanwhile.
  await listen().catch((err: unknown) => log.warn({ err }, 'no notification channel at start: polling, and trying again each round'));

  async function relayBatch(): Promise<number> {
    const rows = await withTransaction(options.pool, async (client) => {
      const claimed = await claimOutboxEvents(client, { limit: options.batchSize, tenantIds: options.tenantIds ?? null });
      const oldest = claimed[0]?.createdAt;
      metrics.outboxLagSeconds.set(oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0);
      await Promise.all(claimed.map((row) => startEventWorkflow(options, row)));
      // A crash here rolls the claim back (a dead process's connection does): nothing is marked.
      if (claimed.length > 0 && options.faultDelayBeforeCommitMs) await sleep(options.faultDelayBeforeCommitMs);
      await markOutboxEventsRelayed(client, claimed.map((row) => row.id));
      return claimed;
    });
    for (const row of rows) metrics.outboxRelayed.inc({ topic: row.topic });
    return rows.length;
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const relayed = await relayBatch();
      total += relayed;
      if (relayed < options.batchSize) return total;
    }
  }

  let nextPurgeAt = 0;
  const loop = (async () => {
    while (!stopped) {
      if (options.retentionMs !== undefined && Date.now() >= nextPurgeAt) {
        nextPurgeAt = Date.now() + PURGE_INTERVAL_MS;
        await purgeRelayedEvents(options.pool, options.retentionMs)
          .catch((err: unknown) => log.error({ err }, 'purge of relayed events failed'));
      }
      if (!listener) await listen().catch(() => undefined);
      try {
        await drain();
      } catch (err) {
        if (!stopped) log.error({ err }, 'batch failed; retrying');
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollIntervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  })();

  return {
    drain,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      await listener?.end().catch(() => undefined);
    },
  };
}

const PURGE_INTERVAL_MS = 3_600_000;

async function startEventWorkflow(options: OutboxRelayOptions, row: ClaimedOutboxEvent): Promise<void> {
  const contract = workflowContracts.domainEvent;
  const input: WorkflowInput<'domainEvent'> = { ...options.eventInput, tenantId: row.tenantId, eventId: row.id, topic: row.topic };
  const workflowId = workflowIdOf(contract, row.id);
  try {
    const handle = await options.temporal.workflow.start(contract.type, {
      taskQueue: options.taskQueue,
      workflowId,
      args: [input],
      // Never a second run for one event, even after the first closed.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
      requestEagerStart: options.eagerStart ?? false,
      typedSearchAttributes: [{ key: TenantId, value: row.tenantId }, { key: BusinessStatus, value: 'pending' }],
    });
    metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'started' });
    log.debug({ eventId: row.id, topic: row.topic, tenantId: row.tenantId, workflowId, runId: handle.firstExecutionRunId }, 'event relayed');
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
      metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'failed' });
      throw err;
    }
    metrics.workflowStarts.inc({ workflow_type: contract.type, result: 'already_started' });
  }
}
