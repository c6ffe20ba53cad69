import { renderContent, validateTemplate, type TemplateProblem, type TrustedBlock } from './render.js';
import { CHANNELS, type Channel, type LocalizedTemplate, type RenderedContent, type TemplateChannels, type TemplateLocales } from './types.js';

/**
 * Locale variants of templates (issue #20, contract §10). A template carries its default channels
 * and, per BCP 47 tag, translations of some of them; a contact carries a `locale`. Each channel
 * renders from the most specific variant that has it — the contact's locale, then shorter tags
 * (`fr-CA` → `fr`, RFC 4647 lookup) — else from the default. Pure: the API, the planning activity
 * and the broadcast pages all pick the same way.
 */

export const LOCALES_MAX = 50;
export const LOCALE_MAX_CHARS = 35;

/** The canonical form of a BCP 47 tag (`fr-ca` → `fr-CA`, `EN` → `en`), or null when it is not one. */
export function canonicalLocale(tag: string): string | null {
  if (tag.length < 2 || tag.length > LOCALE_MAX_CHARS) return null;
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    return canonical !== undefined && canonical.length <= LOCALE_MAX_CHARS ? canonical : null;
  } catch {
    return null; // RangeError: not a well-formed tag
  }
}

/**
 * The tags to look for, most specific first: `fr-CA` → `fr-CA`, `fr`; `zh-Hant-TW` → `zh-Hant-TW`,
 * `zh-Hant`, `zh`. A truncation never ends on a singleton (`x`, `u`), as RFC 4647 §3.4 says.
 * Empty for no locale or a malformed one (the default is used).
 */
export function localeFallbacks(locale: string | null | undefined): string[] {
  const canonical = locale ? canonicalLocale(locale) : null;
  if (!canonical) return [];
  const subtags = canonical.split('-');
  const tags: string[] = [];
  for (let n = subtags.length; n >= 1; n--) {
    if (subtags[n - 1]!.length === 1) continue;
    tags.push(subtags.slice(0, n).join('-'));
  }
  return tags;
}

/** The variant `channel` renders from for `locale`: a tag of `template.locales`, or null for the default channels. */
export function pickLocale(locales: TemplateLocales, channel: Channel, locale: string | null | undefined): string | null {
  for (const tag of localeFallbacks(locale)) {
    if (Object.hasOwn(locales, tag) && locales[tag]![channel] !== undefined) return tag;
  }
  return null;
}

/** The channels to render `channel` from for `locale` (a variant's, else the default's). */
export function channelsForLocale(template: LocalizedTemplate, channel: Channel, locale: string | null | undefined): TemplateChannels {
  const tag = pickLocale(template.locales, channel, locale);
  return tag === null ? template.channels : template.locales[tag]!;
}

/**
 * Renders one channel of a template for a recipient's locale (contact's locale, its language, the
 * default). Throws `TemplateError` as `renderContent` does.
 *
 * @example
 * renderForLocale({ channels: { in_app: en }, locales: { fr: { in_app: fr } } }, 'in_app', data, 'fr-CA') // the French one
 */
export function renderForLocale(
  template: LocalizedTemplate,
  channel: Channel,
  data: Record<string, unknown>,
  locale: string | null | undefined,
  blocks?: Readonly<Record<string, TrustedBlock>>,
): RenderedContent {
  return renderContent(channelsForLocale(template, channel, locale), channel, data, blocks);
}

/**
 * A template's locales with canonical tags, and everything wrong with them (empty when fine):
 * malformed or repeated tags (`fr-ca` and `fr-CA`), too many, a channel the default does not have
 * (a variant translates the default; a recipient without that locale would have nothing), and
 * each variant's template problems (`locales.fr.email.body`).
 */
export function checkLocales(
  locales: Record<string, TemplateChannels>,
  defaults: TemplateChannels,
): { locales: TemplateLocales; problems: TemplateProblem[] } {
  const canonical: TemplateLocales = {};
  const problems: TemplateProblem[] = [];
  const tags = Object.keys(locales);
  if (tags.length > LOCALES_MAX) problems.push({ param: 'locales', message: `At most ${LOCALES_MAX} locales.` });
  for (const tag of tags) {
    const channels = locales[tag]!;
    const name = canonicalLocale(tag);
    if (name === null) {
      problems.push({ param: `locales.${tag}`, message: `${JSON.stringify(tag)} is not a BCP 47 language tag (fr, fr-CA, zh-Hant).` });
      continue;
    }
    if (Object.hasOwn(canonical, name)) {
      problems.push({ param: `locales.${tag}`, message: `${tag} repeats the locale ${name}.` });
      continue;
    }
    canonical[name] = channels;
    for (const channel of CHANNELS) {
      if (channels[channel] !== undefined && defaults[channel] === undefined) {
        problems.push({ param: `locales.${tag}.${channel}`, message: `The template has no default ${channel} content for this locale to translate.` });
      }
    }
    for (const problem of validateTemplate(channels)) {
      problems.push({ param: `locales.${tag}.${problem.param.slice('channels.'.length)}`, message: problem.message.replace(problem.param, `locales.${tag}.${problem.param.slice('channels.'.length)}`) });
    }
  }
  return { locales: canonical, problems };
}
