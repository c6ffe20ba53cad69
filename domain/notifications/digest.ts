import Mustache from 'mustache';
import { renderForLocale } from './locales.js';
import { RENDERED_PART_MAX_CHARS, TrustedBlock } from './render.js';
import type { LocalizedTemplate, RenderedContent } from './types.js';

/**
 * E-mail digests (issue #20, contract §10): preference `digest: {email: "1h"}` holds a user's
 * normal-priority, non-critical e-mails in one open digest per user, and ONE e-mail rendered with
 * the template `digest` goes when its window ends. Pure: the window grammar and the digest's
 * content; the store, the activities and the workflow `digest` do the rest.
 */

/** The input of the workflow `digest-<dgst_id>`: the digest row exists, open, with its window. */
export interface DigestInput {
  tenantId: string;
  digestId: string;
  /** ISO time its window ends: the run sleeps durably until then. */
  windowEnd: string;
}

/** sent: one e-mail carried every held one; skipped: nothing to send (opted out, no address); failed: refused or out of attempts. */
export type DigestOutcome = 'sent' | 'skipped' | 'failed';

/** The template the digest e-mail is rendered with (built in; a tenant overrides it by id). */
export const DIGEST_TEMPLATE_ID = 'digest';
/** The variable of the digest template that lists the held messages (built here, escaped). */
export const DIGEST_MESSAGES_VAR = 'messages';

/** A window as the API takes it: `30s`, `15m`, `1h`, `24h` (bounds come from the config). */
const WINDOW = /^([1-9]\d{0,4})(s|m|h)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** A window's length in ms, or null when it is not `<n>s`, `<n>m` or `<n>h`. */
export function digestWindowMs(window: string): number | null {
  const match = WINDOW.exec(window);
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : null;
}

/** One held e-mail as the digest lists it: what its own e-mail would have said. */
export interface DigestMessage {
  subject: string;
  html: string;
  text: string;
}

/** How much of the digest body the list may take; the template around it has the rest. */
export const DIGEST_LIST_MAX_CHARS = 40_000;
const EXCERPT_CHARS = 300;
const SUBJECT_CHARS = 200;

const cut = (value: string, max: number) => (value.length > max ? `${value.slice(0, max - 1)}…` : value);
const esc = (value: string) => Mustache.escape(value);

/**
 * The list of held messages, as HTML and as text, within `maxChars`: each message whole while they
 * all fit; else an excerpt of each one's text; else as many subjects as fit and "… and N more".
 * Every held message is counted in the digest either way (a big one does not hold the others back).
 */
export function digestList(messages: readonly DigestMessage[], maxChars = DIGEST_LIST_MAX_CHARS): TrustedBlock {
  const subjectOf = (m: DigestMessage) => cut(m.subject, SUBJECT_CHARS);
  const whole = messages.map((m) => ({ html: `<li><p><strong>${esc(subjectOf(m))}</strong></p>${m.html}</li>`, text: `* ${subjectOf(m)}\n${m.text}` }));
  const fits = (items: { html: string; text: string }[]) => items.reduce((n, i) => n + Math.max(i.html.length, i.text.length) + 12, 0) <= maxChars;
  let items = whole;
  if (!fits(items)) {
    items = messages.map((m) => {
      const excerpt = cut(m.text, EXCERPT_CHARS);
      return { html: `<li><p><strong>${esc(subjectOf(m))}</strong></p><p>${esc(excerpt)}</p></li>`, text: `* ${subjectOf(m)}\n${excerpt}` };
    });
  }
  if (!fits(items)) {
    items = [];
    for (const [i, m] of messages.entries()) {
      const item = { html: `<li><strong>${esc(subjectOf(m))}</strong></li>`, text: `* ${subjectOf(m)}` };
      if (!fits([...items, item, { html: 'x'.repeat(60), text: '' }])) {
        const more = `… and ${messages.length - i} more`;
        items.push({ html: `<li>${esc(more)}</li>`, text: more });
        break;
      }
      items.push(item);
    }
  }
  return new TrustedBlock(`<ul>${items.map((i) => i.html).join('')}</ul>`, items.map((i) => i.text).join('\n\n'));
}

/**
 * The digest e-mail for a recipient's locale: the `digest` template with `{{count}}` and the list
 * as `{{messages}}`. Throws `TemplateError` (a tenant's own `digest` template may not render).
 */
export function renderDigest(template: LocalizedTemplate, messages: readonly DigestMessage[], locale: string | null): RenderedContent {
  if (messages.length === 0) throw new Error('a digest of no messages is not sent');
  const list = digestList(messages, Math.min(DIGEST_LIST_MAX_CHARS, RENDERED_PART_MAX_CHARS / 2));
  return renderForLocale(template, 'email', { count: messages.length }, locale, { [DIGEST_MESSAGES_VAR]: list });
}
