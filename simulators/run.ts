import { configSchema, loadConfig, type Config } from '../platform/config.js';
import { childLogger, setLogService } from '../platform/log.js';

/** A started simulator, as its process entry sees it. */
export interface RunningSimulator {
  url: string;
  close(): Promise<void>;
}

/**
 * A simulator takes any card, any credentials, any message, and answers what its controls say:
 * it must never stand in for the outside world of a production deployment.
 */
export function refuseProduction(name: string, config: Pick<Config, 'NODE_ENV'>): void {
  if (config.NODE_ENV === 'production') {
    throw new Error(`${name} is a simulator (it accepts anything and answers as told): it refuses to run with NODE_ENV=production`);
  }
}

/** Starts a simulator for a configuration, unless that is production. */
export async function startSimulator(
  options: { name: string; start: (config: Config) => Promise<RunningSimulator> },
  config: Config,
): Promise<RunningSimulator> {
  refuseProduction(options.name, config);
  return options.start(config);
}

/**
 * The entry of a simulator process (dev and drills; `npm start` runs them): loads the config,
 * starts the simulator, logs `listening` (its url, what it serves), and serves until SIGINT or
 * SIGTERM, then closes it and exits 0 (1 if closing failed). A failed start logs `fatal`, exits 1;
 * so does NODE_ENV=production, checked before the rest of the environment (whose production
 * checks would otherwise speak first, about something else).
 *
 * @example
 * runSimulator({ name: 'smtp-sink', start: (config) => startSmtpSink({ port: config.SMTP_SIM_PORT, hostname: config.HOST }) });
 */
export function runSimulator(options: {
  /** Its `service` in the log lines, e.g. `processors-sim`. */
  name: string;
  /** What the simulator serves, appended to the listening line in parentheses. */
  serves?: string;
  start: (config: Config) => Promise<RunningSimulator>;
}): void {
  const { name } = options;
  setLogService(name);
  const log = childLogger({ component: 'simulator' });
  const main = async (): Promise<void> => {
    refuseProduction(name, configSchema.pick({ NODE_ENV: true }).parse(process.env));
    const simulator = await startSimulator(options, loadConfig());
    log.info({ url: simulator.url, serves: options.serves }, 'listening');
    const shutdown = (signal: string) => {
      log.info({ signal }, 'stopping');
      simulator.close().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'close failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  };
  main().catch((err: unknown) => {
    log.fatal({ err }, 'fatal');
    process.exit(1);
  });
}
