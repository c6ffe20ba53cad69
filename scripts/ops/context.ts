import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { loadConfig, type Config } from '../../platform/config.js';
import { dataConverterOf } from '../../platform/payload-codec.js';
import { clientConnectionOptions } from '../../platform/temporal-connection.js';
import { createPool } from '../../store/db.js';
import type { Invocation } from './parse.js';

/**
 * What a command may use, each opened on first use and closed by `close()`: a command that only
 * needs PostgreSQL never dials Temporal, `new-sealing-key` reads no configuration at all.
 */
export interface OpsContext {
  config(): Config;
  /** DATABASE_URL: the primary. */
  pool(): pg.Pool;
  /** DATABASE_READ_URL (a standby) when set, else the primary: reads that decide nothing. */
  readPool(): pg.Pool;
  temporal(): Promise<Client>;
  close(): Promise<void>;
}

/** A terminal command holds few connections: the reconciler's pass is the widest user (2). */
const POOL_MAX = 2;

export function createOpsContext(): OpsContext {
  let config: Config | undefined;
  let pool: pg.Pool | undefined;
  let readPool: pg.Pool | undefined;
  let connection: Promise<Connection> | undefined;
  let client: Promise<Client> | undefined;
  const ctx: OpsContext = {
    config: () => (config ??= loadConfig()),
    pool: () => (pool ??= createPool(ctx.config().DATABASE_URL, POOL_MAX)),
    readPool: () => {
      const url = ctx.config().DATABASE_READ_URL;
      return url ? (readPool ??= createPool(url, POOL_MAX)) : ctx.pool();
    },
    temporal() {
      const cfg = ctx.config();
      connection ??= Connection.connect(clientConnectionOptions(cfg)).catch((err: unknown) => {
        throw new Error(`Temporal at ${cfg.TEMPORAL_ADDRESS}: ${err instanceof Error ? err.message : String(err)}`);
      });
      return (client ??= connection.then((c) => new Client({ connection: c, namespace: cfg.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(cfg) })));
    },
    async close() {
      const opened = connection;
      await Promise.allSettled([pool?.end(), readPool?.end(), opened?.then((c) => c.close())]);
    },
  };
  return ctx;
}

/** What a command prints: `text` on a terminal, `data` with --json; exit code 0 unless it says otherwise. */
export interface CommandOutput {
  data: unknown;
  text: string;
  exitCode?: number;
}

export type Handler = (invocation: Invocation, ctx: OpsContext) => Promise<CommandOutput>;
