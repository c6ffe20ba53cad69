import { describe, expect, it } from 'vitest';
import { canonicalLocale, checkLocales, localeFallbacks, pickLocale, renderForLocale } from './locales.js';
import type { LocalizedTemplate } from './types.js';

const template: LocalizedTemplate = {
  channels: {
    email: { subject: 'Hello {{name}}', body: '<p>Hello {{name}}</p>' },
    sms: { body: 'Hello {{name}}' },
    in_app: { title: 'Hello', body: 'Hello {{name}}' },
  },
  locales: {
    fr: { email: { subject: 'Bonjour {{name}}', body: '<p>Bonjour {{name}}</p>' }, in_app: { title: 'Bonjour', body: 'Bonjour {{name}}' } },
    'fr-CA': { in_app: { title: 'Allô', body: 'Allô {{name}}' } },
    'zh-Hant': { sms: { body: '你好 {{name}}' } },
  },
};

describe('locale fallback', () => {
  it.each([
    // [contact locale, channel, variant used (null: the default channels)]
    ['fr-CA', 'in_app', 'fr-CA'], // exact
    ['fr-CA', 'email', 'fr'], // the language: fr-CA has no email
    ['fr-CA', 'sms', null], // neither has sms: the default
    ['fr', 'in_app', 'fr'], // exact
    ['fr-BE', 'email', 'fr'], // language
    ['FR-ca', 'in_app', 'fr-CA'], // tags compare in canonical case
    ['zh-Hant-TW', 'sms', 'zh-Hant'], // shorter tags, most specific first
    ['de', 'email', null], // no variant: default
    [null, 'email', null], // no locale: default
    ['not a tag!', 'email', null], // malformed: default
  ] as const)('%s, %s → %s', (locale, channel, expected) => {
    expect(pickLocale(template.locales, channel, locale)).toBe(expected);
  });

  it('renders the chosen variant, falling back per channel', () => {
    expect(renderForLocale(template, 'in_app', { name: 'Ada' }, 'fr-CA')).toEqual({ channel: 'in_app', title: 'Allô', body: 'Allô Ada' });
    expect(renderForLocale(template, 'email', { name: 'Ada' }, 'fr-CA')).toMatchObject({ subject: 'Bonjour Ada', text: 'Bonjour Ada' });
    expect(renderForLocale(template, 'sms', { name: 'Ada' }, 'fr-CA')).toEqual({ channel: 'sms', body: 'Hello Ada' });
    expect(renderForLocale({ channels: template.channels, locales: {} }, 'sms', { name: 'Ada' }, 'fr')).toEqual({ channel: 'sms', body: 'Hello Ada' });
  });

  it('truncates tags as RFC 4647 lookup does (never ending on a singleton)', () => {
    expect(localeFallbacks('fr-CA')).toEqual(['fr-CA', 'fr']);
    expect(localeFallbacks('en-a-bbb-x-private')).toEqual(['en-a-bbb-x-private', 'en-a-bbb', 'en']);
    expect(localeFallbacks(undefined)).toEqual([]);
    expect(canonicalLocale('EN-us')).toBe('en-US');
    expect(canonicalLocale('x')).toBeNull();
    expect(canonicalLocale('en_US')).toBeNull();
  });
});

describe('checkLocales', () => {
  it('canonicalises tags and refuses bad tags, repeats, channels the default lacks and template errors', () => {
    const ok = checkLocales({ 'fr-ca': { sms: { body: 'Allô' } } }, template.channels);
    expect(ok).toEqual({ locales: { 'fr-CA': { sms: { body: 'Allô' } } }, problems: [] });
    const { problems } = checkLocales({
      'fr_FR': { sms: { body: 'x' } },
      fr: { sms: { body: 'x' } },
      FR: { sms: { body: 'x' } },
      de: { push: { title: 'x', body: 'y' } },
      es: { email: { subject: 'x', body: '{{{raw}}}' } },
    }, template.channels);
    expect(problems.map((p) => p.param)).toEqual(['locales.fr_FR', 'locales.FR', 'locales.de.push', 'locales.es.email.body']);
    expect(problems[3]!.message).toContain('locales.es.email.body must not use unescaped output');
  });
});
