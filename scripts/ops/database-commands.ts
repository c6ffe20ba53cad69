import { retryDeadLetter } from '../../api/ops/dead-letters.js';
import { CHANNELS, type DeliveryChannel } from '../../domain/notifications/types.js';
import { secretBoxOf } from '../../platform/config-security.js';
import { newSealingKey, parseSealingKeys, SecretBox } from '../../platform/secrets.js';
import { auditLedger } from '../../store/ledger/audit.js';
import { listStandbys } from '../../store/monitoring/replication.js';
import { listDeadLetters } from '../../store/notifications/deliveries.js';
import { sealClearWebhookSecrets } from '../../store/notifications/webhook-endpoints.js';
import { listUnrelayedTopics } from '../../store/outbox/outbox.js';
import { resealSecrets } from '../../store/security/reseal.js';
import type { Handler } from './context.js';
import { intOption, UsageError } from './parse.js';
import { formatFields, formatTable, shortTime } from './table.js';

/** The PostgreSQL side of `npm run ops`: the ledger audit, dead letters, the outbox, secrets, replication. */

const plural = (n: number, noun: string, nouns = `${noun}s`) => `${n} ${n === 1 ? noun : nouns}`;

export const audit: Handler = async (invocation, ctx) => {
  const tenantId = invocation.options['tenant-id'];
  const report = await auditLedger(ctx.readPool(), { tenantId });
  const { accounts, transactions, entries } = report.checked;
  const scope = tenantId ? `tenant ${tenantId}` : 'the whole ledger';
  const summary = `Ledger audit of ${scope}: ${report.ok ? 'OK' : plural(report.problems.length, 'problem')}`
    + ` (checked ${plural(accounts, 'account')}, ${plural(transactions, 'transaction')}, ${plural(entries, 'entry', 'entries')}).`;
  const problems = report.problems.length === 0 ? 'No problems.' : formatTable([
    { header: 'KIND', value: (p) => p.kind },
    { header: 'ID', value: (p) => p.id },
    { header: 'DETAIL', value: (p) => p.detail, maxWidth: 100 },
  ], report.problems);
  return { data: report, text: `${summary}\n\n${problems}`, exitCode: report.ok ? 0 : 1 };
};

const DEAD_LETTER_CHANNELS: readonly string[] = [...CHANNELS, 'webhook'];

export const deadLetters: Handler = async (invocation, ctx) => {
  const channel = invocation.options.channel;
  if (channel !== undefined && !DEAD_LETTER_CHANNELS.includes(channel)) {
    throw new UsageError(`--channel is one of ${DEAD_LETTER_CHANNELS.join(', ')}, not ${channel}`);
  }
  const limit = intOption(invocation, 'limit', { min: 1, max: 100, byDefault: 20 });
  const page = await listDeadLetters(ctx.pool(), {
    tenantId: invocation.options['tenant-id'], channel: channel as DeliveryChannel | undefined, limit,
  });
  if (page.data.length === 0) return { data: page, text: 'No dead letters.' };
  const table = formatTable([
    { header: 'DELIVERY ID', value: (d) => d.id },
    { header: 'TENANT', value: (d) => d.tenant_id },
    { header: 'CHANNEL', value: (d) => d.channel },
    { header: 'ATTEMPTS', value: (d) => d.attempts, align: 'right' },
    { header: 'RETRIES', value: (d) => d.retries, align: 'right' },
    { header: 'UPDATED', value: (d) => shortTime(d.updated_at) },
    { header: 'LAST ERROR', value: (d) => d.last_error, maxWidth: 60 },
  ], page.data);
  const count = plural(page.data.length, 'dead letter');
  return { data: page, text: `${table}\n\n${page.has_more ? `${count} shown; more match (--limit, --tenant-id, --channel)` : count}` };
};

export const retryDeadLetterCommand: Handler = async (invocation, ctx) => {
  const delivery = await retryDeadLetter({ pool: ctx.pool(), temporal: await ctx.temporal(), config: ctx.config() }, invocation.args[0]!);
  return { data: delivery, text: `${delivery.id}: queued again (retry ${delivery.retries}); its retry run has started.` };
};

export const outbox: Handler = async (_invocation, ctx) => {
  const topics = await listUnrelayedTopics(ctx.pool());
  const data = { object: 'list', data: topics };
  if (topics.length === 0) return { data, text: 'Every event has been relayed.' };
  const now = Date.now();
  return {
    data,
    text: formatTable([
      { header: 'TOPIC', value: (t) => t.topic },
      { header: 'UNRELAYED', value: (t) => t.unrelayed, align: 'right' },
      { header: 'OLDEST', value: (t) => shortTime(t.oldestCreatedAt) },
      { header: 'AGE', value: (t) => `${Math.max(0, Math.round((now - Date.parse(t.oldestCreatedAt)) / 1000))}s`, align: 'right' },
    ], topics),
  };
};

export const replication: Handler = async (_invocation, ctx) => {
  const standbys = await listStandbys(ctx.pool());
  const syncStreaming = standbys.some((s) => s.state === 'streaming' && s.syncState === 'sync');
  const verdict = syncStreaming ? 'a synchronous standby is streaming.' : 'no synchronous standby is streaming: one copy of each commit only.';
  const table = standbys.length === 0 ? 'No standby is connected.' : formatTable([
    { header: 'STANDBY', value: (s) => s.applicationName },
    { header: 'STATE', value: (s) => s.state },
    { header: 'SYNC', value: (s) => s.syncState },
    { header: 'SENT LSN', value: (s) => s.sentLsn },
    { header: 'FLUSHED LSN', value: (s) => s.flushLsn },
    { header: 'REPLAYED LSN', value: (s) => s.replayLsn },
  ], standbys);
  return { data: { standbys }, text: `${table}\n\nReplication: ${verdict}`, exitCode: syncStreaming ? 0 : 1 };
};

export const sealingKey: Handler = async (invocation) => {
  // No configuration: it is how a production environment gets its first key.
  const id = invocation.options.id ?? `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
  if (/[:,]/.test(id)) throw new UsageError('--id cannot contain : or , (SECRETS_ENCRYPTION_KEYS separators)');
  const key = newSealingKey(id);
  // The check every process makes of SECRETS_ENCRYPTION_KEYS: a key printed here is one it accepts.
  let accepted: string;
  try {
    accepted = new SecretBox(parseSealingKeys(key)).currentKeyId;
  } catch (err) {
    throw new UsageError(`--id: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (accepted !== id) throw new UsageError(`--id ${id} would be read as ${accepted}`);
  return { data: { key }, text: key };
};

export const resealStoredSecrets: Handler = async (_invocation, ctx) => {
  const counts = await resealSecrets(ctx.pool(), secretBoxOf(ctx.config()));
  return {
    data: counts,
    text: `Re-sealed with the first key:\n${formatFields([['actor signing keys', counts.actorSigningKeys], ['webhook endpoints', counts.webhookEndpoints]])}`,
  };
};

export const sealWebhookSecrets: Handler = async (_invocation, ctx) => {
  const sealed = await sealClearWebhookSecrets(ctx.pool(), secretBoxOf(ctx.config()));
  return { data: { sealed }, text: `Sealed ${plural(sealed, 'webhook secret')} that were stored in clear.` };
};
