import { runSimulator } from '../run.js';
import { startSmtpSink } from './server.js';

/** The SMTP sink process (dev and drills): accepts and keeps mail until SIGINT/SIGTERM. */
runSimulator({
  name: 'smtp-sink',
  start: (config) => startSmtpSink({ port: config.SMTP_SIM_PORT, hostname: config.HOST }),
});
