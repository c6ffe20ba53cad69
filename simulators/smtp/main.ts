import { loadConfig } from '../../platform/config.js';
import { startSmtpSink } from './server.js';

/** The SMTP sink process (dev and drills): accepts and keeps mail until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const sink = await startSmtpSink({ port: config.SMTP_SIM_PORT, hostname: config.HOST });
  console.log(`[smtp-sink] listening on ${sink.url}`);
  const shutdown = (signal: string) => {
    console.log(`[smtp-sink] ${signal}: stopping`);
    sink.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('[smtp-sink] close failed', err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('[smtp-sink] fatal', err);
  process.exit(1);
});
