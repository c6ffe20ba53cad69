import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../platform/config.js';
import { startSimulator } from './run.js';

const ENTRIES = ['processors/main.ts', 'providers/main.ts', 'smtp/main.ts'].map((entry) => fileURLToPath(new URL(entry, import.meta.url)));

/** Runs a simulator's process entry to its exit (it should not get as far as listening). */
function runEntry(entry: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('simulators never run in production', () => {
  it('startSimulator refuses NODE_ENV=production before starting anything', async () => {
    const start = vi.fn();
    const production = { ...loadConfig({}), NODE_ENV: 'production' as const };
    await expect(startSimulator({ name: 'processors-sim', start }, production)).rejects.toThrow(/refuses to run with NODE_ENV=production/);
    expect(start).not.toHaveBeenCalled();
  });

  it('the processors (acquirers, bank), providers and SMTP processes exit 1 with NODE_ENV=production', async () => {
    // Not the test run's log file: the refusal is read from the process's own output (JSON lines).
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LOG_')));
    const env = { ...inherited, NODE_ENV: 'production', PROCESSORS_SIM_PORT: '0', PROVIDERS_SIM_PORT: '0', SMTP_SIM_PORT: '0' };
    const runs = await Promise.all(ENTRIES.map((entry) => runEntry(entry, env)));
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.out).toMatch(/"level":"fatal".*is a simulator .* refuses to run with NODE_ENV=production/);
      expect(run.out).not.toMatch(/listening on/);
    }
  });
});
