import { parseArgs } from 'node:util';
import { loadConfig } from '../../platform/config.js';

/**
 * The image's HEALTHCHECK (Dockerfile): `node dist/scripts/image/healthcheck.js [api|worker]` exits
 * 0 when the process's `/readyz` answers 200, else 1 — the API's on PORT, the worker's on
 * WORKER_METRICS_PORT (workers/metrics-server.ts), on HOST (127.0.0.1 when HOST binds every
 * interface). One image runs either process (the command picks it), so without an argument it asks
 * both ports: a refused connection means that process is not in this container; healthy when one
 * answers and every answer is 200. It reads the container's environment through the same config
 * schema the process parsed at its start.
 */
const TIMEOUT_MS = 4_000;
const ROLES = ['api', 'worker'] as const;
type Role = (typeof ROLES)[number];

type Probe = 'ready' | 'not ready' | 'absent';

async function probe(url: string): Promise<Probe> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok ? 'ready' : 'not ready';
  } catch (err) {
    const code = ((err as { cause?: { code?: string } }).cause)?.code;
    return code === 'ECONNREFUSED' ? 'absent' : 'not ready';
  }
}

async function main(): Promise<number> {
  const { positionals } = parseArgs({ allowPositionals: true });
  const asked = positionals[0];
  if (positionals.length > 1 || (asked !== undefined && !ROLES.includes(asked as Role))) {
    console.error('usage: healthcheck [api|worker]');
    return 2;
  }
  const config = loadConfig();
  const host = ['0.0.0.0', '::', ''].includes(config.HOST) ? '127.0.0.1' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const ports: Record<Role, number> = { api: config.PORT, worker: config.WORKER_METRICS_PORT };
  const roles = (asked ? [asked as Role] : [...ROLES]).filter((role) => ports[role] > 0);
  const results = await Promise.all(roles.map(async (role) => [role, await probe(`http://${host}:${ports[role]}/readyz`)] as const));
  for (const [role, result] of results) console.log(`${role} http://${host}:${ports[role]}/readyz: ${result}`);
  const answered = results.filter(([, result]) => result !== 'absent');
  return answered.length > 0 && answered.every(([, result]) => result === 'ready') ? 0 : 1;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(`healthcheck: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
