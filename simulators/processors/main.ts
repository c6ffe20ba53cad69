import { runSimulator } from '../run.js';
import { startProcessorsServer } from './server.js';

/** Simulated processors process (dev and drills): serves until SIGINT/SIGTERM. */
runSimulator({
  name: 'processors-sim',
  serves: 'acq_primary, acq_secondary, bank_sim',
  start: (config) => startProcessorsServer({ port: config.PROCESSORS_SIM_PORT, hostname: config.HOST }),
});
