import { describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATES } from './default-templates.js';
import { digestList, digestWindowMs, renderDigest } from './digest.js';

const message = (i: number, extra = '') => ({ subject: `Subject ${i} <b>`, html: `<p>Body ${i}${extra}</p>`, text: `Body ${i}${extra}` });

describe('digest windows', () => {
  it.each([['30s', 30_000], ['15m', 900_000], ['1h', 3_600_000], ['24h', 86_400_000], ['0m', null], ['1d', null], ['1.5h', null], ['', null]])(
    '%s → %s', (window, ms) => expect(digestWindowMs(window)).toBe(ms),
  );
});

describe('digest e-mail', () => {
  it('lists every held message, subjects escaped, bodies as they were rendered', () => {
    const content = renderDigest({ channels: DEFAULT_TEMPLATES.digest!, locales: {} }, [message(1), message(2), message(3)], null);
    if (content.channel !== 'email') throw new Error('not email');
    expect(content.subject).toBe('Your 3 notifications');
    for (const i of [1, 2, 3]) {
      expect(content.html).toContain(`<strong>Subject ${i} &lt;b&gt;</strong></p><p>Body ${i}</p>`);
      expect(content.text).toContain(`Subject ${i} <b>\nBody ${i}`);
    }
  });

  it('renders the digest template of the recipient locale', () => {
    const template = {
      channels: DEFAULT_TEMPLATES.digest!,
      locales: { fr: { email: { subject: '{{count}} notifications', body: '<p>Vos messages :</p>{{messages}}' } } },
    };
    const content = renderDigest(template, [message(1)], 'fr-CA');
    expect(content).toMatchObject({ subject: '1 notifications' });
    expect(content.channel === 'email' && content.html).toContain('Vos messages');
  });

  it('stays within its budget: excerpts, then subjects and how many more', () => {
    const long = 'x'.repeat(5_000);
    const excerpts = digestList([message(1, long), message(2, long)], 2_000);
    expect(excerpts.html.length).toBeLessThanOrEqual(2_000);
    expect(excerpts.html).toContain('Subject 2');
    const many = digestList(Array.from({ length: 500 }, (_, i) => message(i, long)), 5_000);
    expect(many.html.length).toBeLessThanOrEqual(5_000);
    expect(many.html).toMatch(/… and \d+ more/);
  });
});
