import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { withTransaction } from '../store/db.js';
import { insertAccount } from '../store/ledger/accounts.js';
import { placeHold, postHold } from '../store/ledger/holds.js';
import { postTransaction } from '../store/ledger/transactions.js';

/**
 * The ledger load of `bench:ledger`, shared with the benches that compare against it in their own
 * run (`bench:payroll`): funded user accounts, and transfers back to back (placeHold with limits
 * enforced + postHold, ONE transaction each) from `clients` loops until a deadline.
 */

/** Accounts per multi-leg funding transaction. */
const FUNDING_CHUNK = 200;

export interface ScenarioResult {
  name: string;
  transfers: number;
  attempts: number;
  errors: Map<string, number>;
  elapsedS: number;
  latenciesMs: number[];
}

export const randomInt = (n: number) => Math.floor(Math.random() * n);

/** A random payer and a distinct random payee among `accounts`. */
export const uniformPicker = (accounts: readonly string[]) => (): [string, string] => {
  const a = randomInt(accounts.length);
  const b = (a + 1 + randomInt(accounts.length - 1)) % accounts.length;
  return [accounts[a]!, accounts[b]!];
};

/** Credits each of `ids` with `amountMinor` from `systemId`, FUNDING_CHUNK accounts per transaction (keys `${keyPrefix}:<offset>`). */
export async function fundAccounts(
  pool: pg.Pool, input: { tenantId: string; systemId: string; currency: string; ids: readonly string[]; amountMinor: number; keyPrefix: string },
): Promise<void> {
  for (let i = 0; i < input.ids.length; i += FUNDING_CHUNK) {
    const ids = input.ids.slice(i, i + FUNDING_CHUNK);
    await withTransaction(pool, (client) => postTransaction(client, {
      tenantId: input.tenantId, idempotencyKey: `${input.keyPrefix}:${i}`, kind: 'topup', currency: input.currency,
      postings: [
        { accountId: input.systemId, direction: 'debit', amountMinor: input.amountMinor * ids.length },
        ...ids.map((accountId) => ({ accountId, direction: 'credit' as const, amountMinor: input.amountMinor })),
      ],
    }));
  }
}

/** `count` user accounts (8 inserts at a time), each funded with `amountMinor` from `systemId`. */
export async function fundedUserAccounts(
  pool: pg.Pool, input: { tenantId: string; systemId: string; currency: string; count: number; amountMinor: number },
): Promise<string[]> {
  const users: string[] = [];
  for (let i = 0; i < input.count; i += 8) {
    const batch = Array.from({ length: Math.min(8, input.count - i) }, () =>
      insertAccount(pool, { tenantId: input.tenantId, type: 'user', currency: input.currency }));
    users.push(...(await Promise.all(batch)).map((a) => a.id));
  }
  await fundAccounts(pool, { ...input, ids: users, keyPrefix: 'bench:fund' });
  return users;
}

export interface TransferLoad {
  tenantId: string;
  currency: string;
  /** Also the idempotency keys' middle part: `bench:<name>:<client>:<i>`. */
  name: string;
  pick: () => [string, string];
  seconds: number;
  clients: number;
  signal: AbortSignal;
}

/** `clients` loops, each running transfers back to back until the deadline (or the signal). */
export async function runTransfers(pool: pg.Pool, load: TransferLoad): Promise<ScenarioResult> {
  const { tenantId, currency, name } = load;
  const result: ScenarioResult = { name, transfers: 0, attempts: 0, errors: new Map(), elapsedS: 0, latenciesMs: [] };
  const started = performance.now();
  const deadline = started + load.seconds * 1000;
  await Promise.all(Array.from({ length: load.clients }, async (_, c) => {
    for (let i = 0; performance.now() < deadline && !load.signal.aborted; i++) {
      const [from, to] = load.pick();
      const key = `bench:${name}:${c}:${i}`;
      const amountMinor = 1 + randomInt(1000);
      const t0 = performance.now();
      try {
        await withTransaction(pool, async (client) => {
          result.attempts++; // withTransaction calls this once per attempt (deadlock/serialization retries)
          const hold = await placeHold(client, {
            tenantId, idempotencyKey: `${key}:hold`, accountId: from, amountMinor, currency, enforceLimits: true,
          });
          await postHold(client, {
            tenantId, idempotencyKey: `${key}:post`, holdId: hold.id, creditAccountId: to, kind: 'transfer', referenceId: key,
          });
        });
        result.transfers++;
        result.latenciesMs.push(performance.now() - t0);
      } catch (err) {
        const e = err as { code?: string; name?: string };
        const kind = e.code ?? e.name ?? 'unknown';
        result.errors.set(kind, (result.errors.get(kind) ?? 0) + 1);
      }
    }
  }));
  result.elapsedS = (performance.now() - started) / 1000;
  result.latenciesMs.sort((a, b) => a - b);
  return result;
}

/** Transfers per second of a scenario. */
export const perSecond = (r: ScenarioResult) => r.transfers / r.elapsedS;
