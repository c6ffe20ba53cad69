import Mustache from 'mustache';
import type { Channel, RenderedContent, TemplateChannels } from './types.js';

/**
 * Template rendering (contract §5): `{{var}}` placeholders, HTML-escaped in the email body and
 * inserted as they are everywhere else. Pure (no I/O, no clock), so the API, activities and
 * workflows all render the same way.
 */

export type TemplateErrorCode = 'template_channel_missing' | 'template_invalid' | 'data_invalid' | 'content_too_large';

export class TemplateError extends Error {
  override name = 'TemplateError';
  constructor(
    readonly code: TemplateErrorCode,
    message: string,
    /** Where the problem is, in the API's spelling (`channels.email.body`, `data.name`). */
    readonly param?: string,
  ) {
    super(message);
  }
}

/** One thing wrong with a template, for the API's `400 parameter_invalid`. */
export interface TemplateProblem {
  param: string;
  message: string;
}

/** Data values a template may use: scalars only, so sections cannot loop (no output blow-up). */
export type TemplateValue = string | number | boolean | null;

/** Bounds: a template part, a data value and a rendered part. */
export const TEMPLATE_PART_MAX_CHARS = 20_000;
export const DATA_KEYS_MAX = 100;
export const RENDERED_PART_MAX_CHARS = 64 * 1024;
const DATA_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * A writer of our own with its parse cache off: the default writer caches every template string
 * it ever saw, without a bound, and tenants write templates. Parsing a short template costs
 * microseconds.
 */
const writer = new Mustache.Writer();
(writer as unknown as { templateCache: undefined }).templateCache = undefined;

/** `{{.}}` names the whole view (an object): it renders as nothing rather than `[object Object]`. */
const text = (value: unknown) => (typeof value === 'object' && value !== null ? '' : String(value));
const raw = text;
const escapeHtml = (value: unknown) => Mustache.escape(text(value));
const CHANNEL_FIELDS = {
  email: ['subject', 'body'],
  sms: ['body'],
  push: ['title', 'body'],
  in_app: ['title', 'body'],
} as const satisfies Record<Channel, readonly string[]>;

/**
 * Renders one channel of a template. Throws `TemplateError` when the template has no such
 * channel, does not parse, the data is not flat scalars, or the result is too large.
 *
 * @example
 * renderContent({ sms: { body: 'Hi {{name}}' } }, 'sms', { name: 'Ada' }) // { channel: 'sms', body: 'Hi Ada' }
 */
export function renderContent(
  templateChannels: TemplateChannels,
  channel: Channel,
  data: Record<string, unknown>,
): RenderedContent {
  const view = checkData(data);
  switch (channel) {
    case 'email': {
      const t = need(templateChannels.email, channel);
      // The subject is a header, not HTML: raw, but no CR/LF or other controls (no header injection).
      const subject = render(t.subject, view, raw, channel, 'subject').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
      return { channel, subject, html: render(t.body, view, escapeHtml, channel, 'body'), text: renderEmailText(t.body, view) };
    }
    case 'sms': {
      const t = need(templateChannels.sms, channel);
      return { channel, body: render(t.body, view, raw, channel, 'body') };
    }
    case 'push': {
      const t = need(templateChannels.push, channel);
      return { channel, title: render(t.title, view, raw, channel, 'title'), body: render(t.body, view, raw, channel, 'body') };
    }
    case 'in_app': {
      const t = need(templateChannels.in_app, channel);
      return { channel, title: render(t.title, view, raw, channel, 'title'), body: render(t.body, view, raw, channel, 'body') };
    }
    default: {
      const unreachable: never = channel;
      throw new TemplateError('template_channel_missing', `Unknown channel ${String(unreachable)}.`, 'channels');
    }
  }
}

/**
 * Everything wrong with a template's channels (empty when it is fine): syntax errors, partials
 * (there are none to include), and unescaped output (`{{{x}}}`, `{{& x}}`) in email, where it
 * would let data inject HTML.
 */
export function validateTemplate(channels: TemplateChannels): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  for (const channel of Object.keys(CHANNEL_FIELDS) as Channel[]) {
    const parts = channels[channel] as Record<string, unknown> | undefined;
    if (parts === undefined) continue;
    for (const field of CHANNEL_FIELDS[channel]) {
      const param = `channels.${channel}.${field}`;
      const problem = problemOf(parts[field], channel, param);
      if (problem) problems.push({ param, message: problem });
    }
  }
  return problems;
}

function problemOf(template: unknown, channel: Channel, param: string): string | null {
  if (typeof template !== 'string') return `${param} must be a string.`;
  if (template.length > TEMPLATE_PART_MAX_CHARS) return `${param} must be at most ${TEMPLATE_PART_MAX_CHARS} characters.`;
  if (template.includes('\u0000')) return `${param} must not contain NUL characters.`;
  let tokens: unknown[];
  try {
    tokens = writer.parse(template) as unknown[];
  } catch (err) {
    return `${param} is not a valid template: ${err instanceof Error ? err.message : String(err)}.`;
  }
  for (const kind of tokenKinds(tokens)) {
    if (kind === '>') return `${param} must not use partials ({{> name}}).`;
    if (kind === '&' && channel === 'email') {
      return `${param} must not use unescaped output ({{{name}}} or {{& name}}) in email: use {{name}}.`;
    }
  }
  return null;
}

/** Token kinds of a parse tree, sections included (`[kind, value, start, end, children?]`). */
function* tokenKinds(tokens: unknown[]): Generator<string> {
  for (const token of tokens as unknown[][]) {
    yield String(token[0]);
    if ((token[0] === '#' || token[0] === '^') && Array.isArray(token[4])) yield* tokenKinds(token[4] as unknown[]);
  }
}

function need<T>(part: T | undefined, channel: Channel): T {
  if (part === undefined) {
    throw new TemplateError('template_channel_missing', `The template has no ${channel} channel.`, `channels.${channel}`);
  }
  return part;
}

function checkData(data: Record<string, unknown>): Record<string, TemplateValue> {
  const entries = Object.entries(data);
  if (entries.length > DATA_KEYS_MAX) throw new TemplateError('data_invalid', `data may have at most ${DATA_KEYS_MAX} keys.`, 'data');
  for (const [key, value] of entries) {
    if (!DATA_KEY.test(key)) throw new TemplateError('data_invalid', `data key ${JSON.stringify(key)} must match ${DATA_KEY}.`, 'data');
    const ok = value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
    if (!ok) throw new TemplateError('data_invalid', `data.${key} must be a string, a finite number, a boolean or null.`, `data.${key}`);
  }
  // A null prototype: `{{constructor}}` must not reach Object.prototype.
  return Object.assign(Object.create(null) as Record<string, TemplateValue>, data);
}

function render(
  template: string,
  view: Record<string, TemplateValue>,
  escape: (value: unknown) => string,
  channel: Channel,
  field: string,
): string {
  const param = `channels.${channel}.${field}`;
  const problem = problemOf(template, channel, param);
  if (problem) throw new TemplateError('template_invalid', problem, param);
  const out = writer.render(template, view, undefined, { escape });
  if (out.length > RENDERED_PART_MAX_CHARS) {
    throw new TemplateError('content_too_large', `${param} renders to more than ${RENDERED_PART_MAX_CHARS} characters.`, param);
  }
  return out;
}

/**
 * The plain-text alternative of an email body: the template's HTML turned into text, with the
 * data inserted as it is (not escaped, and never mistaken for markup). Values are held back
 * behind NUL-delimited slots while the HTML is stripped (templates cannot contain NUL).
 */
function renderEmailText(template: string, view: Record<string, TemplateValue>): string {
  const values: string[] = [];
  const slot = (value: unknown) => `\u0000${values.push(text(value)) - 1}\u0000`;
  return htmlToText(render(template, view, slot, 'email', 'body')).replace(/\u0000(\d+)\u0000/g, (_, i: string) => values[Number(i)] ?? '');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Enough HTML-to-text for notification bodies: blocks become lines, tags go, entities decode. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\s*<br\s*\/?>\s*/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr|table|ul|ol|blockquote)\s*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (entity, name: string) => decodeEntity(name) ?? entity)
    .replace(/[ \t]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{2,}/g, '\n')
    .trim();
}

function decodeEntity(name: string): string | undefined {
  if (name[0] !== '#') return ENTITIES[name.toLowerCase()];
  const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
  // NUL is a slot delimiter; lone surrogates and out-of-range code points are not text.
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
  return String.fromCodePoint(code);
}
