import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { databaseNameOf } from '../platform/postgres-url.js';
import { createClient } from '../store/db.js';
import { listPgProcesses } from '../store/monitoring/pg-activity.js';
import { fmt, printTable, withDatabase } from './common.js';

/**
 * CPU time (user + system) spent by every process that takes part in a benchmark, over a window
 * (issue #14, "cost per workflow"). Linux only (/proc); a part it cannot read is NaN, not 0.
 *
 *   bench        this process: `process.cpuUsage()`, every thread (the workers' Rust core and
 *                workflow thread, the API app, the simulators, the load generator itself).
 *   server       the Temporal dev server child (`temporal server start-dev`, one Go process, no
 *                children of its own): utime + stime of /proc/<pid>/stat, every thread.
 *   children     any other process descending from this one (none today).
 *   pgBackends   PostgreSQL backends connected to the bench's database (pg_stat_activity by
 *                datname; autovacuum workers on it included). The meter's own connection goes
 *                to the `postgres` database and is not counted.
 *   pgBackground the postmaster's background processes (checkpointer, background writer,
 *                walwriter, autovacuum launcher, …): shared by every database on the server,
 *                so they also carry whatever else runs on it during the window.
 *   redis        the Redis server (INFO cpu used_cpu_user + used_cpu_sys), when given: shared too.
 *
 * Processes are re-read every `sampleMs` while the window is open, so one that exits within it
 * (a pool connection closed when idle) loses at most its last sample interval, not all its CPU;
 * one that appears within it counts from 0. Clock-tick resolution (1/CLK_TCK s) per process.
 */
export type CpuPart = 'bench' | 'server' | 'children' | 'pgBackends' | 'pgBackground' | 'redis';
export const CPU_PARTS: readonly CpuPart[] = ['bench', 'server', 'children', 'pgBackends', 'pgBackground', 'redis'];

export interface CpuWindow {
  wallMs: number;
  /** CPU-ms per part over the window (NaN: could not be read). */
  ms: Record<CpuPart, number>;
  /** The sum of the parts that could be read. */
  totalMs: number;
  /** How many PostgreSQL backends of the bench's database were seen, and how many exited within the window. */
  pgBackendsSeen: number;
  pgBackendsExited: number;
}

export interface CpuSources {
  /** The bench's database (its backends are counted); the meter connects to `postgres` on the same server. */
  databaseUrl?: string;
  /** The Temporal dev server's pid (a descendant of this process: counted as `server`, not `children`). */
  serverPid?: number;
  redis?: Redis;
  /** How often processes are re-read while a window is open. */
  sampleMs?: number;
}

let ticksPerS: number | undefined;
/** USER_HZ (`getconf CLK_TCK`; 100 on Linux x86 and arm). */
function clockTicksPerS(): number {
  if (ticksPerS === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(out.stdout?.trim());
    ticksPerS = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return ticksPerS;
}

interface ProcStat {
  /** utime + stime in ms. */
  cpuMs: number;
  /** Start time since boot (ticks): tells a reused pid apart. */
  start: string;
}

async function procStat(pid: number): Promise<ProcStat | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold anything: the fields follow its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (!Number.isFinite(ticks)) return null;
    return { cpuMs: (ticks * 1000) / clockTicksPerS(), start: fields[19] ?? '' };
  } catch {
    return null;
  }
}

/** Every descendant of `pid` (via /proc/<pid>/task/<tid>/children). */
async function descendantsOf(pid: number): Promise<number[]> {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    const tids = await readdir(`/proc/${parent}/task`).catch(() => [] as string[]);
    for (const tid of tids) {
      const text = await readFile(`/proc/${parent}/task/${tid}/children`, 'utf8').catch(() => '');
      for (const child of text.split(' ').filter(Boolean).map(Number)) {
        if (!found.includes(child)) {
          found.push(child);
          queue.push(child);
        }
      }
    }
  }
  return found;
}

const emptyParts = (): Record<CpuPart, number> => ({ bench: 0, server: 0, children: 0, pgBackends: 0, pgBackground: 0, redis: 0 });

async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const value = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return (value('used_cpu_user') + value('used_cpu_sys')) * 1000;
}

/** One open window: `stop()` closes it (and the meter's connection) and returns what it measured. */
export interface CpuMeter {
  stop(): Promise<CpuWindow>;
}

/** Opens a measurement window: take it right before a measured batch, `stop()` right after. */
export async function startCpuMeter(sources: CpuSources): Promise<CpuMeter> {
  const started = performance.now();
  const benchStart = process.cpuUsage();
  /** Per process (part:pid:start): its CPU-ms when first seen in the window (0 if it appeared later) and when last seen. */
  const seen = new Map<string, { part: CpuPart; first: number; last: number; alive: boolean }>();
  const unreadable = new Set<CpuPart>();
  let client: pg.Client | undefined;
  let databaseName: string | undefined;
  if (sources.databaseUrl) {
    databaseName = databaseNameOf(sources.databaseUrl);
    client = createClient(withDatabase(sources.databaseUrl, 'postgres'));
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch {
      client = undefined;
      unreadable.add('pgBackends').add('pgBackground');
    }
  } else {
    unreadable.add('pgBackends').add('pgBackground');
  }
  if (sources.serverPid === undefined) unreadable.add('server');
  if (!sources.redis) unreadable.add('redis');

  let initial = true;
  async function sample(): Promise<void> {
    const pids: [CpuPart, number][] = [];
    for (const pid of await descendantsOf(process.pid)) pids.push([pid === sources.serverPid ? 'server' : 'children', pid]);
    if (client) {
      for (const p of await listPgProcesses(client, databaseName!)) pids.push([p.ofDatabase ? 'pgBackends' : 'pgBackground', p.pid]);
    }
    for (const entry of seen.values()) entry.alive = false;
    await Promise.all(pids.map(async ([part, pid]) => {
      const stat = await procStat(pid);
      if (!stat) return;
      const key = `${part}:${pid}:${stat.start}`;
      const entry = seen.get(key);
      if (entry) {
        entry.last = stat.cpuMs;
        entry.alive = true;
      } else {
        seen.set(key, { part, first: initial ? stat.cpuMs : 0, last: stat.cpuMs, alive: true });
      }
    }));
    initial = false;
  }

  const redisStart = sources.redis ? await redisCpuMs(sources.redis).catch(() => Number.NaN) : Number.NaN;
  await sample();
  if (sources.serverPid !== undefined && ![...seen.keys()].some((k) => k.startsWith(`server:${sources.serverPid}:`))) unreadable.add('server');
  let sampling: Promise<void> | undefined;
  const timer = setInterval(() => {
    sampling ??= sample().catch(() => undefined).finally(() => (sampling = undefined));
  }, sources.sampleMs ?? 1_000);
  timer.unref();

  return {
    async stop(): Promise<CpuWindow> {
      clearInterval(timer);
      await sampling;
      await sample().catch(() => undefined);
      const benchUsage = process.cpuUsage(benchStart);
      const redisEnd = sources.redis ? await redisCpuMs(sources.redis).catch(() => Number.NaN) : Number.NaN;
      const wallMs = performance.now() - started;
      await client?.end().catch(() => undefined);

      const ms = emptyParts();
      ms.bench = (benchUsage.user + benchUsage.system) / 1000;
      let pgBackendsExited = 0;
      for (const entry of seen.values()) {
        ms[entry.part] += entry.last - entry.first;
        if (entry.part === 'pgBackends' && !entry.alive) pgBackendsExited++;
      }
      ms.redis = redisEnd - redisStart;
      for (const part of unreadable) ms[part] = Number.NaN;
      const totalMs = CPU_PARTS.reduce((sum, part) => sum + (Number.isFinite(ms[part]) ? ms[part] : 0), 0);
      const pgBackendsSeen = [...seen.values()].filter((e) => e.part === 'pgBackends').length;
      return { wallMs, ms, totalMs, pgBackendsSeen, pgBackendsExited };
    },
  };
}

/** A window with nothing running (`ms` long): the stack's fixed background cost, CPU-ms per s = totalMs / (wallMs / 1000). */
export async function measureIdleCpu(sources: CpuSources, ms = 2_000): Promise<CpuWindow> {
  return (await withCpuMeter(sources, () => sleep(ms))).cpu;
}

/** Runs `fn` inside a CPU window. */
export async function withCpuMeter<T>(sources: CpuSources, fn: () => Promise<T>): Promise<{ value: T; cpu: CpuWindow }> {
  const meter = await startCpuMeter(sources);
  let value: T;
  try {
    value = await fn();
  } catch (err) {
    await meter.stop();
    throw err;
  }
  return { value, cpu: await meter.stop() };
}

/**
 * A window's figures per completed unit, for the report: `${prefix}CpuMsPerWorkflow` (the total)
 * and `${prefix}CpuMs<Part>` per part (each per completed unit too: they add up to the total),
 * `${prefix}CpuCores` (the average cores busy over the window).
 */
export function cpuFigures(prefix: string, cpu: CpuWindow, completed: number, unit = 'Workflow'): Record<string, number> {
  const per = (ms: number) => (completed > 0 ? ms / completed : Number.NaN);
  const figures: Record<string, number> = {
    [`${prefix}CpuMsPer${unit}`]: per(cpu.totalMs),
    [`${prefix}CpuCores`]: cpu.totalMs / cpu.wallMs,
  };
  for (const part of CPU_PARTS) figures[`${prefix}CpuMs${part[0]!.toUpperCase()}${part.slice(1)}`] = per(cpu.ms[part]);
  return figures;
}

const PART_LABELS: Record<CpuPart, string> = {
  bench: 'bench process (workers, API, simulators, load)',
  server: 'Temporal dev server',
  children: 'other child processes',
  pgBackends: 'PostgreSQL backends (bench database)',
  pgBackground: 'PostgreSQL background (shared)',
  redis: 'Redis (shared)',
};

/** Prints "CPU per completed workflow": one column per measured run, a row per process, its share, the total. */
export function printCpuTable(runs: { label: string; cpu: CpuWindow; completed: number }[]): void {
  console.log('');
  console.log('CPU per completed workflow (user + system CPU-ms of every process over the batch / completed runs; share of the total in brackets)');
  const cell = (ms: number, run: { cpu: CpuWindow; completed: number }) =>
    Number.isFinite(ms) ? `${fmt(ms / run.completed, 2)} (${fmt((100 * ms) / run.cpu.totalMs, 0)} %)` : 'n/a';
  const rows = CPU_PARTS
    .filter((part) => part !== 'children' || runs.some((r) => r.cpu.ms.children > 0))
    .map((part) => [PART_LABELS[part], ...runs.map((r) => cell(r.cpu.ms[part], r))]);
  rows.push(['total CPU-ms per completed', ...runs.map((r) => fmt(r.cpu.totalMs / r.completed, 2))]);
  rows.push(['completed / window s', ...runs.map((r) => `${Number.isInteger(r.completed) ? r.completed : fmt(r.completed, 1)} / ${fmt(r.cpu.wallMs / 1000, 1)}`)]);
  rows.push(['average cores busy', ...runs.map((r) => fmt(r.cpu.totalMs / r.cpu.wallMs, 2))]);
  rows.push(['PG backends seen (exited)', ...runs.map((r) => `${r.cpu.pgBackendsSeen} (${r.cpu.pgBackendsExited})`)]);
  printTable(['process', ...runs.map((r) => r.label)], rows);
}
