import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The test run's one log file (issue #16): every process of the run — vitest's own (the global
 * setup), each test file's, and the processes they start — appends its JSON lines to
 * `.data/test/logs-<run>.jsonl`, never to the terminal. test/whole-run-logs.test.ts greps it once
 * every other file has finished.
 *
 * Imported FIRST by test/global-setup.ts: platform/log.ts reads LOG_* once, when it is first
 * imported, so the environment is set before anything imports it; the test files' processes and
 * the processes they spawn inherit it.
 */

/** This run's id (also in the test database's name). */
export const RUN_ID = `${process.pid}_${Date.now().toString(36)}`;
const LOG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../.data/test');
export const RUN_LOG_FILE = resolve(LOG_DIR, `logs-${RUN_ID}.jsonl`);
/** Log files of older runs are deleted once this old, or once this many newer ones exist and they are a few hours old. */
const RUN_LOG_MAX_AGE_MS = 24 * 3_600_000;
const RUNS_KEPT = 5;
/** A run still going (another checkout's, a helper's beside this one) keeps its file for this long at least. */
const RUN_LOG_MIN_AGE_MS = 3 * 3_600_000;

mkdirSync(LOG_DIR, { recursive: true });
const older = readdirSync(LOG_DIR).filter((name) => /^logs-\d+_[0-9a-z]+\.jsonl$/.test(name))
  .map((name) => ({ name, ageMs: Date.now() - parseInt(name.slice(name.indexOf('_') + 1), 36) }))
  .sort((a, b) => a.ageMs - b.ageMs);
for (const [i, { name, ageMs }] of older.entries()) {
  if (ageMs > RUN_LOG_MAX_AGE_MS || (i >= RUNS_KEPT - 1 && ageMs > RUN_LOG_MIN_AGE_MS)) rmSync(resolve(LOG_DIR, name), { force: true });
}

// Set, not defaulted: the whole-run test needs this run's lines, at a level that has ids on them.
process.env.LOG_FILE = RUN_LOG_FILE;
process.env.LOG_LEVEL = 'debug';
process.env.LOG_FORMAT = 'json';
