import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, inject, it } from 'vitest';
import { containsCardNumber } from '../domain/card-data.js';
import { DEVELOPMENT_PAYLOAD_KEYS, DEVELOPMENT_SEALING_KEYS } from '../platform/config-security.js';
import { parseSealingKeys } from '../platform/secrets.js';

/**
 * The logs of the whole test run (issue #16), read once every other test file has finished
 * (vitest.config.ts runs this file in the late group, beside the ledger audit). Every process of
 * the run appended its JSON lines to one file (test/run-logs.ts): the API in process and as a
 * process, the workers and the Temporal SDK's lines (activities, workflows), the relay, the
 * scripts. Nothing secret may be in it — API keys, actor tokens and other JWTs, bearer tokens,
 * webhook secrets, encryption keys, card numbers, e-mail addresses — and it must hold what makes a log useful
 * (request, tenant and workflow ids), so that an empty or id-less file cannot pass.
 *
 * The patterns are written here on their own (not platform/log.ts's scrubber): a mistake there
 * must show here.
 */

const SECRETS: { kind: string; pattern: RegExp }[] = [
  // API keys: `sk_` + base64url (tenant keys), `sk_admin_…` (the admin key): api/admin/api-keys.ts, scripts/bootstrap.ts.
  { kind: 'API key', pattern: /\bsk_[A-Za-z0-9_-]{6,}/ },
  // Actor tokens (Steadfast-Actor) and any other JWT: base64url JSON, so `eyJ`.
  { kind: 'JWT', pattern: /\beyJ[A-Za-z0-9_-]{6,}/ },
  { kind: 'bearer token', pattern: /\bbearer\s+(?!\[Redacted)[A-Za-z0-9._~+/=-]{6,}/i },
  // Webhook endpoint secrets: domain/notifications/signature.ts.
  { kind: 'webhook secret', pattern: /\bwhsec_[A-Za-z0-9_-]{6,}/ },
  { kind: 'e-mail address', pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/ },
];

/**
 * The run's sealing and payload encryption keys (the development ones: tests set none), in every
 * form a log could hold them: base64 (the environment's), text, and a Buffer's JSON (`"data":[…]`).
 */
const KEY_FORMS = [DEVELOPMENT_SEALING_KEYS, DEVELOPMENT_PAYLOAD_KEYS].flatMap((keys) => parseSealingKeys(keys)).flatMap(({ key }) => [
  key.toString('base64'), key.toString('latin1'), JSON.stringify([...key]).slice(1, -1),
]);

interface Problem {
  line: number;
  kind: string;
  /** The start of what matched, never all of it: this report must not leak it again. */
  excerpt: string;
  /** Where the line came from. */
  from: string;
}

/** Every string in a parsed line (values of objects and arrays, at any depth). */
function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) stringsOf(item, out);
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) stringsOf(item, out);
  return out;
}

const masked = (text: string) => `${text.slice(0, 6)}…`;

describe('the logs of the whole run', () => {
  it('hold no API key, token, webhook secret, card number or e-mail address, and carry request, tenant and workflow ids', async () => {
    const file = inject('runLogFile');
    expect(existsSync(file), `no log file ${file}`).toBe(true);
    const problems: Problem[] = [];
    const seen = { lines: 0, requestId: 0, tenantId: 0, workflowId: 0, accessWithTenant: 0, activityWithIds: 0 };
    let lineNumber = 0;
    for await (const text of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
      lineNumber += 1;
      if (text === '') continue;
      seen.lines += 1;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        problems.push({ line: lineNumber, kind: 'not a JSON line', excerpt: masked(text), from: '?' });
        continue;
      }
      const from = [line.service, line.component, line.msg].filter((part) => part !== undefined).join(' / ').slice(0, 120);
      for (const { kind, pattern } of SECRETS) {
        const found = pattern.exec(text);
        if (found) problems.push({ line: lineNumber, kind, excerpt: masked(found[0]), from });
      }
      if (KEY_FORMS.some((form) => text.includes(form))) problems.push({ line: lineNumber, kind: 'encryption key', excerpt: '', from });
      // Trace context ids are random hex (`2ba4570586334391`): a digit run in one can pass Luhn. They are the logger's, not data.
      const { trace_id: _traceId, span_id: _spanId, ...data } = line;
      const card = stringsOf(data).find((value) => containsCardNumber(value));
      if (card !== undefined) problems.push({ line: lineNumber, kind: 'card number', excerpt: masked(card), from });
      if (typeof line.requestId === 'string') seen.requestId += 1;
      if (typeof line.tenantId === 'string') seen.tenantId += 1;
      if (typeof line.workflowId === 'string') seen.workflowId += 1;
      if (line.msg === 'request' && typeof line.requestId === 'string' && typeof line.tenantId === 'string') seen.accessWithTenant += 1;
      if (typeof line.workflowId === 'string' && typeof line.runId === 'string' && typeof line.activityType === 'string') seen.activityWithIds += 1;
    }
    expect(problems.slice(0, 50), `${problems.length} line(s) of ${file} hold what must never be logged`).toEqual([]);
    // Not vacuous: the run logged, and its lines carry the ids.
    expect(seen.lines).toBeGreaterThan(0);
    expect(seen.requestId, 'lines with a requestId').toBeGreaterThan(0);
    expect(seen.tenantId, 'lines with a tenantId').toBeGreaterThan(0);
    expect(seen.workflowId, 'lines with a workflowId').toBeGreaterThan(0);
    // An access line of an authenticated request; an activity's line from the Temporal SDK with its run's ids.
    expect(seen.accessWithTenant, 'access lines with requestId and tenantId').toBeGreaterThan(0);
    expect(seen.activityWithIds, 'activity lines with workflowId, runId and activityType').toBeGreaterThan(0);
  });
});
