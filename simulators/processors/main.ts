import { loadConfig } from '../../platform/config.js';
import { startProcessorsServer } from './server.js';

/** Simulated processors process (dev and drills): serves until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const server = await startProcessorsServer({ port: config.PROCESSORS_SIM_PORT, hostname: config.HOST });
  console.log(`[processors-sim] listening on ${server.url} (acq_primary, acq_secondary, bank_sim)`);
  const shutdown = (signal: string) => {
    console.log(`[processors-sim] ${signal}: stopping`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('[processors-sim] close failed', err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('[processors-sim] fatal', err);
  process.exit(1);
});
