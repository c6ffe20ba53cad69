import { z } from 'zod';

/** pino's levels, quietest last; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/**
 * Logs (issue #16): spread into the one schema in platform/config.ts. platform/log.ts reads the same
 * fragment when it builds the process's logger, which exists before the configuration is loaded
 * (a bad configuration is itself logged).
 */
export const logEnv = {
  /** Unset: `info`, except `silent` under NODE_ENV=test without a LOG_FILE (test output stays quiet). */
  LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
  /** `json` (one object per line), `pretty` (for a person), `auto`: pretty when stdout is a terminal. */
  LOG_FORMAT: z.enum(['json', 'pretty', 'auto']).default('auto'),
  /** A file the lines are appended to instead of stdout (the test run's `.data/test/logs-<run>.jsonl`). */
  LOG_FILE: z.string().min(1).max(4_096).optional(),
};
