import { loadConfig } from '../../platform/config.js';
import { startProvidersServer } from './server.js';

/** Fake notification providers process (dev and drills): serves until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const server = await startProvidersServer({
    port: config.PROVIDERS_SIM_PORT,
    hostname: config.HOST,
    sms: { accountSid: config.SMS_ACCOUNT_SID, authToken: config.SMS_AUTH_TOKEN },
  });
  console.log(`[providers-sim] listening on ${server.url} (push: /push, sms: /sms, webhook receiver: /webhooks, control: /control)`);
  const shutdown = (signal: string) => {
    console.log(`[providers-sim] ${signal}: stopping`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('[providers-sim] close failed', err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('[providers-sim] fatal', err);
  process.exit(1);
});
