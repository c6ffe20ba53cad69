import { setTimeout as sleep } from 'node:timers/promises';
import { processorsControl } from '../../simulators/processors/client.js';
import type { Managed, Topology } from '../topology/topology.js';

/**
 * The faults of the chaos suite (issue #15 item 3), each injected into a running topology. An
 * injection returns once the fault is over from the injector's side (the process is back, the
 * standby promoted and the old primary rebuilt); recovery of the service is measured by the caller
 * from the workload's successes.
 */
export const FAULT_KINDS = [
  'worker_kill', 'api_kill', 'temporal_restart', 'redis_bounce', 'processor_timeout', 'pg_failover',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Injection {
  kind: FaultKind;
  /** What exactly was done (which process, how long it stayed down). */
  detail: string;
  /** When the fault struck (ms since the epoch). */
  atMs: number;
  /** For pg_failover: when the standby was promoted and when the old primary was back as a standby. */
  promotedAtMs?: number;
  rebuiltAtMs?: number;
}

export interface FaultContext {
  topology: Topology;
  random: () => number;
  /** How long a processor holds a request it then answers too late (longer than PROCESSOR_TIMEOUT_MS). */
  processorHoldMs: number;
  log: (msg: string) => void;
  /** Called just before the primary is killed (the suite snapshots what was acknowledged so far). */
  beforePrimaryKill?: () => void;
}

const between = (random: () => number, minMs: number, maxMs: number) => Math.round(minMs + random() * (maxMs - minMs));
const pick = <T>(random: () => number, items: T[]): T => items[Math.floor(random() * items.length)]!;

/** SIGKILL one process, keep it down for a moment, start it again on the same port. */
async function killAndRestart(ctx: FaultContext, target: Managed, downMs: number): Promise<string> {
  await target.kill();
  await sleep(downMs);
  await target.start();
  return `${target.name} SIGKILLed, down ${downMs} ms, restarted`;
}

export async function inject(kind: FaultKind, ctx: FaultContext): Promise<Injection> {
  const { topology, random } = ctx;
  const atMs = Date.now();
  switch (kind) {
    case 'worker_kill':
      return { kind, atMs, detail: await killAndRestart(ctx, pick(random, topology.workers), between(random, 1_000, 5_000)) };
    case 'api_kill':
      return { kind, atMs, detail: await killAndRestart(ctx, pick(random, topology.apis), between(random, 1_000, 5_000)) };
    case 'temporal_restart':
      // A crash, not a clean stop: the server comes back on the same database and ports.
      return { kind, atMs, detail: await killAndRestart(ctx, topology.temporal, between(random, 0, 2_000)) };
    case 'redis_bounce':
      return { kind, atMs, detail: await killAndRestart(ctx, topology.redis, between(random, 2_000, 6_000)) };
    case 'processor_timeout': {
      // The card processors take each request and answer after the API stopped waiting: outcome unknown.
      const count = 2 + Math.floor(random() * 4);
      const sim = processorsControl(topology.processorsUrl);
      await Promise.all([
        sim.fault('acq_primary', 'timeout', count, ctx.processorHoldMs),
        sim.fault('acq_secondary', 'timeout', count, ctx.processorHoldMs),
      ]);
      return { kind, atMs, detail: `acq_primary and acq_secondary time out on their next ${count} requests (held ${ctx.processorHoldMs} ms)` };
    }
    case 'pg_failover': {
      const old = topology.pg.primary.port;
      ctx.beforePrimaryKill?.();
      const killedAtMs = Date.now();
      const promoted = topology.pg.waitForEvent('promoted', 120_000);
      const rebuilt = topology.pg.waitForEvent('rebuilt', 300_000);
      await topology.pg.killPrimary();
      const promotedAtMs = (await promoted).atMs;
      const rebuiltAtMs = (await rebuilt).atMs;
      return {
        kind, atMs: killedAtMs, promotedAtMs, rebuiltAtMs,
        detail: `primary :${old} SIGKILLed; standby :${topology.pg.primary.port} promoted after ${promotedAtMs - killedAtMs} ms; old primary rebuilt as the synchronous standby after ${rebuiltAtMs - killedAtMs} ms`,
      };
    }
  }
}

/**
 * The order of the injections: every kind `times` times, shuffled, never the same kind twice in a
 * row (so each recovery is measured on its own).
 */
export function schedule(kinds: readonly FaultKind[], times: number, random: () => number): FaultKind[] {
  for (let attempt = 0; attempt < 100; attempt++) {
    const all = kinds.flatMap((k) => Array.from({ length: times }, () => k));
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    if (all.every((k, i) => i === 0 || all[i - 1] !== k)) return all;
  }
  throw new Error('could not order the faults');
}
