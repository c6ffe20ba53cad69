// @ts-check
import tseslint from 'typescript-eslint';

/** Node built-ins a workflow must never import: they do I/O or are non-deterministic. */
const nodeBuiltins = [
  'assert', 'async_hooks', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events',
  'fs', 'fs/promises', 'http', 'http2', 'https', 'net', 'os', 'path', 'perf_hooks', 'process',
  'readline', 'stream', 'timers', 'tls', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', '.tools/**', 'eslint.config.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read JSON bodies of many shapes.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Workflow code is replayed: it must be deterministic. No Node built-ins, no environment, no I/O.
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [
          ...nodeBuiltins.map((name) => ({ name, message: 'Workflows are deterministic: do I/O in an activity.' })),
          { name: 'pg', message: 'Workflows do no I/O: use an activity.' },
          { name: 'ioredis', message: 'Workflows do no I/O: use an activity.' },
          { name: '@temporalio/client', message: 'Use @temporalio/workflow APIs inside workflows.' },
          { name: '@temporalio/activity', message: 'Activities run in the worker, not in workflows.' },
        ],
        patterns: [
          { group: ['node:*'], message: 'Workflows are deterministic: no Node built-ins.' },
          { group: ['**/activities/**', '!**/activities/**/types.js'], allowTypeImports: true, message: 'Import activities with `import type` only.' },
          { group: ['**/platform/**'], message: 'Platform code does I/O; workflows must not import it.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'No process.env in workflows: pass values in the workflow input.' },
        { name: 'fetch', message: 'Workflows do no I/O: use an activity.' },
        { name: 'require', message: 'Use ESM imports.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "MemberExpression[object.name='process']", message: 'No process.* in workflows.' },
      ],
    },
  },
);
