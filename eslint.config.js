// @ts-check
import tseslint from 'typescript-eslint';

/** Node built-ins a workflow must never import: they do I/O or are non-deterministic. */
const nodeBuiltins = [
  'assert', 'async_hooks', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events',
  'fs', 'fs/promises', 'http', 'http2', 'https', 'net', 'os', 'path', 'perf_hooks', 'process',
  'readline', 'stream', 'timers', 'tls', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib',
];

/** SQL text: statements as the store writes them (upper-case keywords), in a string or a template. */
const SQL = String.raw`/^\s*(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|WITH\s+\w+\s+AS|BEGIN|COMMIT|ROLLBACK|LISTEN|UNLISTEN|NOTIFY|CREATE\s+(TABLE|DATABASE|INDEX)|DROP\s+(TABLE|DATABASE)|ALTER\s+TABLE|TRUNCATE)\b/`;
const noSqlOutsideStore = [
  { selector: `Literal[value=${SQL}]`, message: 'SQL lives in store/ (one module per table): call a store function.' },
  { selector: `TemplateElement[value.raw=${SQL}]`, message: 'SQL lives in store/ (one module per table): call a store function.' },
  { selector: "CallExpression[callee.property.name='query'] > TemplateLiteral", message: 'SQL lives in store/: call a store function.' },
];

/** What a folder may never import (the README's house): arrows only point down. */
const never = (folders, extra = []) => ['error', {
  patterns: [
    ...folders.map((folder) => ({ group: [`**/${folder}/**`], message: `Arrows point down: this folder may not import ${folder}/ (README, "The house").` })),
    ...extra,
  ],
}];
const noIo = [
  { group: ['pg', 'ioredis', '@temporalio/*', 'hono', 'hono/*', '@hono/*'], message: 'domain/ is pure: no database, no Temporal, no HTTP.' },
];

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', '.data/**', '.tools/**', '.drill-*/**', 'eslint.config.js',
      // The client's build output and its generated types (`npm run client:generate`).
      'packages/*/dist/**', 'packages/*/node_modules/**', 'packages/client/src/schema.d.ts'],
  },
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
    files: ['**/*.ts'],
    ignores: ['store/**', '**/*.test.ts', 'test/**'],
    rules: { 'no-restricted-syntax': ['error', ...noSqlOutsideStore] },
  },
  { files: ['domain/**/*.ts'], ignores: ['**/*.test.ts'], rules: { 'no-restricted-imports': never(['store', 'platform', 'activities', 'workflows', 'api', 'workers'], noIo) } },
  { files: ['store/**/*.ts'], ignores: ['**/*.test.ts'], rules: { 'no-restricted-imports': never(['activities', 'workflows', 'api', 'workers'], [
    { group: ['@temporalio/*', 'hono', 'hono/*', '@hono/*'], message: 'The store knows no Temporal and no HTTP.' },
  ]) } },
  { files: ['platform/**/*.ts'], ignores: ['**/*.test.ts'], rules: { 'no-restricted-imports': never(['activities', 'workflows', 'api', 'workers']) } },
  { files: ['activities/**/*.ts'], ignores: ['**/*.test.ts'], rules: { 'no-restricted-imports': never(['workflows', 'api', 'workers']) } },
  { files: ['api/**/*.ts'], ignores: ['**/*.test.ts'], rules: { 'no-restricted-imports': never(['activities', 'workers']) } },
  // The client is a package of its own (published alone): its own files and its dependencies only.
  { files: ['packages/client/src/**/*.ts'], rules: { 'no-restricted-imports': ['error', {
    patterns: [{ group: ['../*'], message: 'The client imports only its own src/ files and its package dependencies.' }],
  }] } },
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
          { group: ['**/store/**'], message: 'The store does I/O; workflows must not import it: use an activity.' },
          { group: ['**/api/**', '**/workers/**'], message: 'Arrows point down: workflows may not import api/ or workers/.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'No process.env in workflows: pass values in the workflow input.' },
        { name: 'fetch', message: 'Workflows do no I/O: use an activity.' },
        { name: 'require', message: 'Use ESM imports.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "MemberExpression[object.name='process']", message: 'No process.* in workflows.' },
        ...noSqlOutsideStore,
      ],
    },
  },
);
