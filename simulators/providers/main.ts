import { runSimulator } from '../run.js';
import { startProvidersServer } from './server.js';
import { receiptSenderOf } from '../receipts.js';

/** Fake notification providers process (dev and drills): serves until SIGINT/SIGTERM. */
runSimulator({
  name: 'providers-sim',
  serves: 'push: /push, sms: /sms, webhook receiver: /webhooks, control: /control',
  start: (config) => {
    const receipts = receiptSenderOf(config);
    return startProvidersServer({
      port: config.PROVIDERS_SIM_PORT,
      hostname: config.HOST,
      sms: { accountSid: config.SMS_ACCOUNT_SID, authToken: config.SMS_AUTH_TOKEN },
      ...(receipts ? { receipts } : {}),
    });
  },
});
