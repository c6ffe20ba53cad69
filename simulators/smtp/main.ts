import { runSimulator } from '../run.js';
import { startSmtpSink } from './server.js';
import { receiptSenderOf } from '../receipts.js';

/** The SMTP sink process (dev and drills): accepts and keeps mail until SIGINT/SIGTERM. */
runSimulator({
  name: 'smtp-sink',
  start: (config) => {
    const receipts = receiptSenderOf(config);
    return startSmtpSink({ port: config.SMTP_SIM_PORT, hostname: config.HOST, ...(receipts ? { receipts } : {}) });
  },
});
