/**
 * What `npm run ops` accepts: every command with its arguments, options and examples. Data only
 * (no imports): the help is made from it and the parser checks against it, before anything loads
 * configuration or connects. scripts/ops/run.ts maps every name here to its handler.
 */

export interface OptionSpec {
  /** The value's placeholder in the help (`<age>`); every option here takes a value. */
  value: string;
  description: string;
  required?: boolean;
}

export interface CommandSpec {
  /** One word, or a group's word and an action (`deployment ramp`). */
  name: string;
  group: string;
  /** Positional arguments, every one required, in order. */
  args: readonly string[];
  options: Readonly<Record<string, OptionSpec>>;
  summary: string;
  /** More for `<command> --help`: what it does, what it prints, its exit codes. */
  details?: string;
  examples: readonly string[];
}

const limit = (max: number, byDefault: number): OptionSpec => ({ value: '<n>', description: `at most this many rows, 1–${max} (default ${byDefault})` });

export const COMMANDS = [
  {
    name: 'list', group: 'Stuck runs (Temporal)', args: [],
    options: {
      type: { value: '<type>', description: 'workflow type: p2pTransfer, topUp, paymentSaga, leaveApproval, notification, …' },
      status: { value: '<status>', description: 'running, completed, failed, canceled, terminated, timed_out, continued_as_new' },
      'business-status': { value: '<status>', description: 'the BusinessStatus search attribute: pending, held, authorized, deferred, …' },
      'worker-version': { value: '<version>', description: 'on this Worker Deployment Version (steadfast:0.2.0)' },
      'older-than': { value: '<age>', description: 'started longer ago than this: 90s, 15m, 2h, 7d' },
      limit: limit(100, 20),
    },
    summary: 'runs from Temporal visibility, newest first',
    details: 'Visibility is eventually consistent: a run started a second ago may not be listed yet. '
      + 'Prints workflow id, type, status, business status and start time; --json adds run id, tenant and worker version.',
    examples: [
      'npm run ops -- list --type paymentSaga --business-status authorized --older-than 15m',
      'npm run ops -- list --type p2pTransfer --status running --business-status held --json',
    ],
  },
  {
    name: 'cancel', group: 'Stuck runs (Temporal)', args: ['<workflow-id>'], options: {},
    summary: 'request cancellation: the saga runs its compensations',
    examples: ['npm run ops -- cancel transfer-tr_01J…'],
  },
  {
    name: 'terminate', group: 'Stuck runs (Temporal)', args: ['<workflow-id>'],
    options: { reason: { value: '<text>', description: 'why: kept in the run\'s history', required: true } },
    summary: 'stop a run at once, no compensation runs (prefer cancel)',
    examples: ['npm run ops -- terminate payment-pay_01J… --reason "voided by hand"'],
  },
  {
    name: 'retry', group: 'Stuck runs (Temporal)', args: ['<workflow-id>'],
    options: { reason: { value: '<text>', description: 'why: kept in the run\'s history', required: true } },
    summary: 'reset to the last completed workflow task: the failed step runs again',
    details: 'Steps are idempotent by key, so nothing happens twice. Prints the previous and the new run id.',
    examples: ['npm run ops -- retry payment-pay_01J… --reason "fix #123"'],
  },
  {
    name: 'reconcile-starts', group: 'Stuck runs (Temporal)', args: [],
    options: { 'older-than': { value: '<age>', description: 'rows older than this (default RECONCILE_AFTER_MS)' } },
    summary: 'one start-reconciler pass: rows left without a run get one',
    details: 'Prints, per kind of row, how many runs it started, adopted, found stuck or failed to start, and how many rows are still unstarted.',
    examples: ['npm run ops -- reconcile-starts --older-than 60s'],
  },
  {
    name: 'audit', group: 'Ledger', args: [],
    options: { 'tenant-id': { value: '<tnt_…>', description: 'audit one tenant only (default: the whole ledger)' } },
    summary: 'check the ledger invariants',
    details: 'Reads from DATABASE_READ_URL when it is set (a standby), as the API\'s audit does. '
      + 'Prints what it checked and every problem found. Exit code 1 when there is a problem.',
    examples: ['npm run ops -- audit', 'npm run ops -- audit --tenant-id tnt_01J… --json'],
  },
  {
    name: 'dead-letters', group: 'Notifications', args: [],
    options: {
      'tenant-id': { value: '<tnt_…>', description: 'one tenant only' },
      channel: { value: '<channel>', description: 'email, sms, push, in_app or webhook' },
      limit: limit(100, 20),
    },
    summary: 'deliveries that ran out of attempts, newest first',
    examples: ['npm run ops -- dead-letters --channel webhook'],
  },
  {
    name: 'dead-letters retry', group: 'Notifications', args: ['<delivery-id>'], options: {},
    summary: 'replay a dead letter: one more round of attempts',
    examples: ['npm run ops -- dead-letters retry dlv_01J…'],
  },
  {
    name: 'outbox', group: 'Notifications', args: [], options: {},
    summary: 'events not relayed yet, per topic, with the oldest one\'s age',
    examples: ['npm run ops -- outbox'],
  },
  {
    name: 'deployment', group: 'Releases (Worker Deployment)', args: [], options: {},
    summary: 'current and ramping version, every version\'s status and drainage',
    details: 'Exit code 1 when no worker has polled under WORKER_DEPLOYMENT_NAME yet.',
    examples: ['npm run ops -- deployment'],
  },
  {
    name: 'deployment set-current', group: 'Releases (Worker Deployment)', args: ['<build-id>'], options: {},
    summary: 'make a version current: new runs and every Auto-Upgrade run move to it (also: roll back)',
    details: 'Refused when the version does not poll every task queue the current one does.',
    examples: ['npm run ops -- deployment set-current 0.3.0'],
  },
  {
    name: 'deployment ramp', group: 'Releases (Worker Deployment)', args: ['<build-id>', '<percent>'], options: {},
    summary: 'send a share of runs to a version before making it current (0 ends the ramp)',
    examples: ['npm run ops -- deployment ramp 0.3.0 10', 'npm run ops -- deployment ramp 0.3.0 0'],
  },
  {
    name: 'new-sealing-key', group: 'Secrets', args: [],
    options: { id: { value: '<kid>', description: 'the key id: letters, digits, _ and -, up to 32 (default k<yyyymmdd>)' } },
    summary: 'print a new SECRETS_ENCRYPTION_KEYS entry (kid:base64 of 32 random bytes)',
    details: 'Needs no configuration: it also makes a production environment\'s first key.',
    examples: ['npm run -s ops -- new-sealing-key --id k2'],
  },
  {
    name: 'reseal-secrets', group: 'Secrets', args: [], options: {},
    summary: 're-seal stored secrets with the first SECRETS_ENCRYPTION_KEYS key (key rotation)',
    examples: ['npm run ops -- reseal-secrets'],
  },
  {
    name: 'seal-webhook-secrets', group: 'Secrets', args: [], options: {},
    summary: 'seal webhook secrets still stored in clear (the worker does it at start)',
    examples: ['npm run ops -- seal-webhook-secrets'],
  },
  {
    name: 'replication', group: 'Database', args: [], options: {},
    summary: 'the primary\'s standbys (pg_stat_replication): state, sync state, WAL positions',
    details: 'Run against the primary with a superuser. Exit code 1 when no synchronous standby is streaming '
      + '(one copy of each commit only).',
    examples: ['npm run ops -- replication'],
  },
] as const satisfies readonly CommandSpec[];

export type CommandName = (typeof COMMANDS)[number]['name'];

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  json: { description: 'print JSON (the machine form) instead of tables' },
  help: { short: 'h', description: 'this help, or a command\'s: its options and examples' },
} as const;
