import { defineConfig } from 'vitest/config';

/**
 * Run after every other test file (test/global-setup.ts): the audit of the whole run's ledger, and
 * the grep of its log file for secrets (test/run-logs.ts).
 */
const WHOLE_RUN = ['test/whole-run-audit.test.ts', 'test/whole-run-logs.test.ts'];

/** What both projects share (project-level options are not inherited from the root). */
const EXCLUDE = ['node_modules/**', 'dist/**', '.data/**', '.tools/**', '.drill-*/**'];
const project = {
  // The Temporal native bridge crashes in worker threads: one process per test file.
  pool: 'forks' as const,
  testTimeout: 120_000,
  hookTimeout: 180_000,
};

export default defineConfig({
  test: {
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // Runs once for the whole run (the root project's); the projects inherit what it provides.
    globalSetup: ['./test/global-setup.ts'],
    teardownTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.data/vitest-report.json' },
    projects: [
      { test: { ...project, name: 'tests', include: ['**/*.test.ts'], exclude: [...EXCLUDE, ...WHOLE_RUN] } },
      // A later group starts only when every file of the earlier groups has finished.
      { test: { ...project, name: 'whole-run-audit', include: WHOLE_RUN, exclude: EXCLUDE, sequence: { groupOrder: 1 } } },
    ],
  },
});
