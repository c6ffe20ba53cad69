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

/**
 * Content our own code built and escaped (a digest's list of messages): inserted as `html` in an
 * email body and as `text` everywhere else. Never from a request: data values are scalars only.
 */
export class TrustedBlock {
  constructor(readonly html: string, readonly text: string) {}
}
type ViewValue = TemplateValue | TrustedBlock;

/** Bounds: a template part, a data value and a rendered part. */
export const TEMPLATE_PART_MAX_CHARS = 20_000;
export const DATA_KEYS_MAX = 100;
export const RENDERED_PART_MAX_CHARS = 64 * 1024;
/** A tag, `{{` to `}}`, comments included (see `tagProblem`). */
export const TAG_MAX_CHARS = 256;
const DATA_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * A writer of our own with its parse cache off: the default writer caches every template string
 * it ever saw, without a bound, and tenants write templates. Parsing a short template costs
 * microseconds.
 */
const writer = new Mustache.Writer();
(writer as unknown as { templateCache: undefined }).templateCache = undefined;

/** Mustache's parse tree (`[kind, value, start, end, children?]`); parsed once per render. */
type Tokens = string[][];

/** `{{.}}` names the whole view (an object): it renders as nothing rather than `[object Object]`. */
const text = (value: unknown) => (value instanceof TrustedBlock ? value.text : typeof value === 'object' && value !== null ? '' : String(value));
const raw = text;
const escapeHtml = (value: unknown) => (value instanceof TrustedBlock ? value.html : Mustache.escape(text(value)));
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
  blocks: Readonly<Record<string, TrustedBlock>> = {},
): RenderedContent {
  const view: Record<string, ViewValue> = checkData(data);
  for (const [key, block] of Object.entries(blocks)) {
    if (Object.hasOwn(view, key) || !DATA_KEY.test(key)) throw new Error(`block ${JSON.stringify(key)} collides with data or is no key`);
    view[key] = block;
  }
  switch (channel) {
    case 'email': {
      const t = need(templateChannels.email, channel);
      // The subject is a header, not HTML: raw, but no CR/LF or other controls (no header injection).
      const subject = render(t.subject, view, raw, channel, 'subject').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
      const body = compile(t.body, channel, 'body');
      return { channel, subject, html: renderTokens(body, view, escapeHtml), text: renderEmailText(body, view) };
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
  const parsed = parse(template, channel, param);
  return typeof parsed === 'string' ? parsed : null;
}

/** A part's parse tree, or (a string) what is wrong with it. */
function parse(template: unknown, channel: Channel, param: string): { template: string; tokens: Tokens } | string {
  if (typeof template !== 'string') return `${param} must be a string.`;
  if (template.length > TEMPLATE_PART_MAX_CHARS) return `${param} must be at most ${TEMPLATE_PART_MAX_CHARS} characters.`;
  if (template.includes('\u0000')) return `${param} must not contain NUL characters.`;
  const tagged = tagProblem(template);
  if (tagged) return `${param} ${tagged}`;
  let tokens: Tokens;
  try {
    tokens = writer.parse(template) as Tokens;
  } catch (err) {
    return `${param} is not a valid template: ${err instanceof Error ? err.message : String(err)}.`;
  }
  for (const kind of tokenKinds(tokens)) {
    if (kind === '>') return `${param} must not use partials ({{> name}}).`;
    if (kind === '&' && channel === 'email') {
      return `${param} must not use unescaped output ({{{name}}} or {{& name}}) in email: use {{name}}.`;
    }
  }
  return { template, tokens };
}

const TAG_KIND = /\s*([={]?)/y;

/**
 * Mustache's parser looks for a tag's end with `\s*}}` from every position after the tag's start:
 * quadratic in a long run of whitespace that no `}}` follows (`{{a` and 20 KB of spaces took
 * 700 ms). So every tag must end, within TAG_MAX_CHARS, before Mustache sees the template; and
 * the delimiters stay `{{ }}` (the contract's placeholders), so this scan knows where tags are.
 * It walks tags as Mustache does (`{{{` ends at `}}}`), each character once.
 */
function tagProblem(template: string): string | null {
  for (let open = template.indexOf('{{'); open >= 0; ) {
    TAG_KIND.lastIndex = open + 2;
    const kind = TAG_KIND.exec(template)![1];
    if (kind === '=') return 'must not change the tag delimiters ({{=<% %>=}}).';
    const closer = kind === '{' ? '}}}' : '}}';
    const close = template.indexOf(closer, TAG_KIND.lastIndex);
    if (close < 0) return `is not a valid template: Unclosed tag at ${open}.`;
    if (close + closer.length - open > TAG_MAX_CHARS) return `has a tag longer than ${TAG_MAX_CHARS} characters at ${open}.`;
    open = template.indexOf('{{', close + closer.length);
  }
  return null;
}

/** Token kinds of a parse tree, sections included. */
function* tokenKinds(tokens: Tokens): Generator<string> {
  for (const token of tokens as unknown[][]) {
    yield String(token[0]);
    if ((token[0] === '#' || token[0] === '^') && Array.isArray(token[4])) yield* tokenKinds(token[4] as Tokens);
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

interface Compiled {
  template: string;
  tokens: Tokens;
  param: string;
}

/** Parses a part once (an email body renders twice: HTML and text); `template_invalid` if it does not. */
function compile(template: string, channel: Channel, field: string): Compiled {
  const param = `channels.${channel}.${field}`;
  const parsed = parse(template, channel, param);
  if (typeof parsed === 'string') throw new TemplateError('template_invalid', parsed, param);
  return { ...parsed, param };
}

function render(
  template: string,
  view: Record<string, ViewValue>,
  escape: (value: unknown) => string,
  channel: Channel,
  field: string,
): string {
  return renderTokens(compile(template, channel, field), view, escape);
}

function renderTokens(part: Compiled, view: Record<string, ViewValue>, escape: (value: unknown) => string): string {
  const out = writer.renderTokens(part.tokens, new Mustache.Context(view), undefined, part.template, { escape });
  if (out.length > RENDERED_PART_MAX_CHARS) {
    throw new TemplateError('content_too_large', `${part.param} renders to more than ${RENDERED_PART_MAX_CHARS} characters.`, part.param);
  }
  return out;
}

/**
 * The plain-text alternative of an email body: the template's HTML turned into text, with the
 * data inserted as it is (not escaped, and never mistaken for markup). Values are held back
 * behind NUL-delimited slots while the HTML is stripped (templates cannot contain NUL).
 */
function renderEmailText(body: Compiled, view: Record<string, ViewValue>): string {
  const values: string[] = [];
  const slot = (value: unknown) => `\u0000${values.push(text(value)) - 1}\u0000`;
  return htmlToText(renderTokens(body, view, slot)).replace(/\u0000(\d+)\u0000/g, (_, i: string) => values[Number(i)] ?? '');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * Enough HTML-to-text for notification bodies: blocks become lines, tags go, entities decode.
 *
 * Linear in the input. Each pass scans forward once and never starts over from a position it
 * already passed: a regex like `\s*<br>` or `<[^>]*>` retries from every position of a long run of
 * spaces or `<` that never matches (quadratic: 20 KB of spaces took half a second, blocking the
 * API). The passes and their order are those of the regexes they replace, so the output is too.
 */
export function htmlToText(html: string): string {
  return dropTags(lineBreaks(dropComments(dropHiddenElements(html))).replace(BLOCK_END, '\n'))
    .replace(ENTITY, (entity, name: string) => decodeEntity(name) ?? entity)
    .replace(/[ \t]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{2,}/g, '\n')
    .trim();
}

// Each of these has one quantifier, after a fixed prefix it cannot overlap: linear.
const HIDDEN_START = /<(script|style|head)\b/gi;
const HIDDEN_END = { script: /<\/script\s*>/gi, style: /<\/style\s*>/gi, head: /<\/head\s*>/gi } as const;
const LINE_BREAK = /<br\s*\/?>/gi;
const BLOCK_END = /<\/(p|div|h[1-6]|li|tr|table|ul|ol|blockquote)\s*>/gi;
const ENTITY = /&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi;
const SPACE = /\s/;

/** `<script …>…</script>` (and style, head) removed whole; one with no end stays (its tags go later). */
function dropHiddenElements(html: string): string {
  let out = '';
  let from = 0;
  let tagEnd = -1; // the first `>` at or after the current start (cached: a run of starts shares it)
  const unclosed = new Set<string>(); // no end after some start: none after a later one either
  HIDDEN_START.lastIndex = 0;
  for (let m = HIDDEN_START.exec(html); m; m = HIDDEN_START.exec(html)) {
    if (tagEnd < m.index) tagEnd = html.indexOf('>', HIDDEN_START.lastIndex);
    if (tagEnd < 0) break; // no `>` left: nothing further can match
    const name = m[1]!.toLowerCase() as keyof typeof HIDDEN_END;
    if (unclosed.has(name)) continue;
    const end = HIDDEN_END[name];
    end.lastIndex = tagEnd + 1;
    if (!end.exec(html)) {
      unclosed.add(name);
      continue;
    }
    out += html.slice(from, m.index);
    from = HIDDEN_START.lastIndex = end.lastIndex;
  }
  return out + html.slice(from);
}

/** `<!-- … -->` removed; an unterminated one stays (no later one can end either). */
function dropComments(html: string): string {
  let out = '';
  let from = 0;
  for (let start = html.indexOf('<!--'); start >= 0; start = html.indexOf('<!--', from)) {
    const end = html.indexOf('-->', start + 4);
    if (end < 0) break;
    out += html.slice(from, start);
    from = end + 3;
  }
  return out + html.slice(from);
}

/** `<br>` with the whitespace around it becomes one newline. */
function lineBreaks(html: string): string {
  let out = '';
  let from = 0;
  LINE_BREAK.lastIndex = 0;
  for (let m = LINE_BREAK.exec(html); m; m = LINE_BREAK.exec(html)) {
    let start = m.index;
    while (start > from && SPACE.test(html[start - 1]!)) start -= 1;
    let end = LINE_BREAK.lastIndex;
    while (end < html.length && SPACE.test(html[end]!)) end += 1;
    out += `${html.slice(from, start)}\n`;
    from = LINE_BREAK.lastIndex = end;
  }
  return out + html.slice(from);
}

/** From each `<` to the next `>` goes; a `<` with no `>` after it is text. */
function dropTags(html: string): string {
  let out = '';
  let from = 0;
  for (let start = html.indexOf('<'); start >= 0; start = html.indexOf('<', from)) {
    const end = html.indexOf('>', start + 1);
    if (end < 0) break;
    out += html.slice(from, start);
    from = end + 1;
  }
  return out + html.slice(from);
}

function decodeEntity(name: string): string | undefined {
  if (name[0] !== '#') return ENTITIES[name.toLowerCase()];
  const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
  // NUL is a slot delimiter; lone surrogates and out-of-range code points are not text.
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
  return String.fromCodePoint(code);
}
