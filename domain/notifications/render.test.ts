import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectLinear } from '../../test/linear.js';
import { DEFAULT_TEMPLATES } from './default-templates.js';
import { TemplateError, htmlToText, renderContent, validateTemplate } from './render.js';
import type { TemplateChannels } from './types.js';

const XSS = '<script>alert("x")</script> & \'friends\'';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof TemplateError ? err.code : `not a TemplateError: ${String(err)}`;
  }
  return 'no error';
};

describe('renderContent: email', () => {
  const template: TemplateChannels = {
    email: { subject: 'Hello {{name}}', body: '<p>Hello <b>{{name}}</b>,</p><p>you owe {{amount}}.</p>' },
  };

  it('escapes data in the HTML body and keeps it verbatim in the text part', () => {
    const out = renderContent(template, 'email', { name: XSS, amount: 42 });
    expect(out).toEqual({
      channel: 'email',
      subject: `Hello ${XSS}`,
      html: '<p>Hello <b>&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2F;script&gt; &amp; &#39;friends&#39;</b>,</p><p>you owe 42.</p>',
      text: `Hello ${XSS},\nyou owe 42.`,
    });
  });

  it('strips CR/LF from the subject (no header injection)', () => {
    const out = renderContent(template, 'email', { name: 'Ada\r\nBcc: victim@example.com' });
    expect(out.channel === 'email' && out.subject).toBe('Hello Ada Bcc: victim@example.com');
  });

  it('data that looks like markup or a slot never becomes markup in the text part', () => {
    const out = renderContent({ email: { subject: 's', body: '<p>{{a}}</p><p>{{b}}</p>' } }, 'email', { a: '<b>bold</b> &amp;', b: '\u00000\u0000' });
    expect(out.channel === 'email' && out.text).toBe('<b>bold</b> &amp;\n\u00000\u0000');
  });

  it('renders {{.}} (the whole view) as nothing, and unknown names as nothing', () => {
    const out = renderContent({ email: { subject: '{{.}}x{{missing}}', body: '{{constructor}}{{toString}}' } }, 'email', {});
    expect(out).toMatchObject({ subject: 'x', html: '', text: '' });
  });

  it('renders the built-in leave templates', () => {
    const out = renderContent(DEFAULT_TEMPLATES['leave.decided']!, 'email', {
      decision: 'approved', start_date: '2025-03-03', end_date: '2025-03-07',
    });
    expect(out).toMatchObject({ subject: 'Your leave request was approved', text: 'Your leave from 2025-03-03 to 2025-03-07 was approved.' });
  });
});

describe('renderContent: sms, push and in_app are not HTML', () => {
  const template: TemplateChannels = {
    sms: { body: 'Hi {{name}}, {{amount}} {{currency}}' },
    push: { title: '{{name}}', body: 'You got {{amount}}' },
    in_app: { title: 'T {{name}}', body: '{{#vip}}VIP {{/vip}}{{^vip}}Regular {{/vip}}{{name}}' },
  };

  it('inserts data as it is', () => {
    const data = { name: 'A & B <c>', amount: 10.5, currency: 'EUR', vip: true };
    expect(renderContent(template, 'sms', data)).toEqual({ channel: 'sms', body: 'Hi A & B <c>, 10.5 EUR' });
    expect(renderContent(template, 'push', data)).toEqual({ channel: 'push', title: 'A & B <c>', body: 'You got 10.5' });
    expect(renderContent(template, 'in_app', data)).toEqual({ channel: 'in_app', title: 'T A & B <c>', body: 'VIP A & B <c>' });
    expect(renderContent(template, 'in_app', { ...data, vip: false })).toMatchObject({ body: 'Regular A & B <c>' });
  });

  it('any string comes out unchanged in sms', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (value) => {
      expect(renderContent({ sms: { body: '{{v}}' } }, 'sms', { v: value })).toEqual({ channel: 'sms', body: value });
    }));
  });
});

describe('renderContent: errors', () => {
  it('a missing channel is template_channel_missing', () => {
    expect(codeOf(() => renderContent({ sms: { body: 'x' } }, 'email', {}))).toBe('template_channel_missing');
  });

  it('nested data, functions, bad keys and huge output are refused', () => {
    const sms = { sms: { body: '{{a}}' } };
    expect(codeOf(() => renderContent(sms, 'sms', { a: { b: 1 } }))).toBe('data_invalid');
    expect(codeOf(() => renderContent(sms, 'sms', { a: [1, 2] }))).toBe('data_invalid');
    expect(codeOf(() => renderContent(sms, 'sms', { a: () => 'x' }))).toBe('data_invalid');
    expect(codeOf(() => renderContent(sms, 'sms', { a: Number.NaN }))).toBe('data_invalid');
    expect(codeOf(() => renderContent(sms, 'sms', { 'a-b': 1 }))).toBe('data_invalid');
    expect(codeOf(() => renderContent(sms, 'sms', { a: 'x'.repeat(70_000) }))).toBe('content_too_large');
  });

  it('an invalid template is template_invalid at render time too', () => {
    expect(codeOf(() => renderContent({ sms: { body: '{{#a}}' } }, 'sms', {}))).toBe('template_invalid');
    expect(codeOf(() => renderContent({ email: { subject: 's', body: '{{{a}}}' } }, 'email', { a: '<i>' }))).toBe('template_invalid');
  });
});

describe('validateTemplate', () => {
  it('accepts the built-in templates', () => {
    for (const template of Object.values(DEFAULT_TEMPLATES)) expect(validateTemplate(template)).toEqual([]);
  });

  it('reports syntax errors with the part at fault', () => {
    const problems = validateTemplate({ sms: { body: 'Hi {{name' }, push: { title: '{{#a}}x', body: 'ok' } });
    expect(problems.map((p) => p.param)).toEqual(['channels.sms.body', 'channels.push.title']);
    expect(problems[0]!.message).toMatch(/Unclosed tag/);
    expect(problems[1]!.message).toMatch(/Unclosed section/);
  });

  it('refuses unescaped output in email (also nested and with other delimiters), allows it elsewhere', () => {
    for (const body of ['{{{x}}}', '{{& x}}', '{{#a}}{{{x}}}{{/a}}', '{{=<% %>=}}<%& x %>']) {
      expect(validateTemplate({ email: { subject: 's', body } }).map((p) => p.param)).toEqual(['channels.email.body']);
    }
    expect(validateTemplate({ email: { subject: '{{{x}}}', body: 'b' } }).map((p) => p.param)).toEqual(['channels.email.subject']);
    expect(validateTemplate({ sms: { body: '{{{x}}}' } })).toEqual([]);
  });

  it('refuses partials, missing parts, NUL and oversized parts', () => {
    const bad = { sms: { body: '{{> footer}}' }, push: { title: 'x' }, in_app: { title: 'a\u0000', body: 'x'.repeat(20_001) } };
    expect(validateTemplate(bad as unknown as TemplateChannels).map((p) => p.param)).toEqual([
      'channels.sms.body', 'channels.push.body', 'channels.in_app.title', 'channels.in_app.body',
    ]);
  });
});

describe('htmlToText', () => {
  it('turns blocks into lines, drops tags, scripts and comments, decodes entities', () => {
    expect(htmlToText('<style>p{}</style><h1>Title</h1><!-- c --><p>a&nbsp;&amp;&#x41;&#66;<br/>b</p><ul><li>x</li><li>y</li></ul>&bogus;'))
      .toBe('Title\na &AB\nb\nx\ny\n&bogus;');
  });
});

describe('rendering is linear in the template (a tenant writes it; the API renders it on its event loop)', () => {
  /** Each body built for a size (20 KB, the limit, and a quarter of it), whole tags only. */
  const pathological: Record<string, (n: number) => string> = {
    'spaces': (n) => `${' '.repeat(n - 1)}x`,
    'tabs and newlines': (n) => '\t\n \r'.repeat(n / 4),
    '<': (n) => '<'.repeat(n),
    '<head': (n) => '<head'.repeat(n / 5),
    '<script> with no end': (n) => `<script>${'<script'.repeat(Math.floor(n / 7) - 2)}>`,
    '<!--': (n) => '<!--'.repeat(n / 4),
    '<a ': (n) => '<a '.repeat(n / 3),
    '<br and spaces': (n) => `<br${' '.repeat(40)}`.repeat(n / 43),
    '</p and spaces': (n) => `</p${' '.repeat(40)}`.repeat(n / 43),
    'spaces then a tag': (n) => `${' '.repeat(n - 10)}{{name}}`,
    'many tags': (n) => '{{name}}'.repeat(n / 8),
    'long comments at the tag limit': (n) => `{{!x${' '.repeat(249)}y}}`.repeat(n / 256),
  };
  for (const [name, make] of Object.entries(pathological)) {
    it(`renders 20 KB of ${name} as email in linear time`, () => {
      for (const [n, body] of [[20_000, make(20_000)], [5_000, make(5_000)]] as const) {
        expect(body.length).toBeLessThanOrEqual(n);
        expect(body.length).toBeGreaterThan(n * 0.95);
        const template = { email: { subject: 's', body } };
        expect(codeOf(() => renderContent(template, 'email', { name: 'Ada' }))).toBe('no error');
        expect(validateTemplate(template)).toEqual([]);
      }
      expectLinear((b) => renderContent({ email: { subject: 's', body: b } }, 'email', { name: 'Ada' }), make, 20_000);
      expectLinear((b) => validateTemplate({ email: { subject: 's', body: b } }), make, 20_000);
    });
  }

  it('an unclosed or over-long tag is refused before the parser sees it (its search for `}}` is quadratic)', () => {
    const unclosed = (n: number) => `{{name${' '.repeat(n - 7)}x`;
    expect(validateTemplate({ sms: { body: unclosed(20_000) } })[0]!.message).toMatch(/Unclosed tag at 0/);
    expectLinear((b) => validateTemplate({ sms: { body: b } }), unclosed, 20_000);
    const long = `{{!x${' '.repeat(250)}y}}`; // 257 characters
    expect(validateTemplate({ sms: { body: long } })[0]!.message).toMatch(/tag longer than 256 characters/);
    expect(validateTemplate({ sms: { body: long.replace('  ', ' ') } })).toEqual([]);
    expect(codeOf(() => renderContent({ sms: { body: long } }, 'sms', {}))).toBe('template_invalid');
  });

  it('the delimiters stay {{ }}: a set-delimiter tag is refused in every channel', () => {
    expect(validateTemplate({ sms: { body: 'a {{=<% %>=}} <%x%>' } })[0]!.message).toMatch(/must not change the tag delimiters/);
    expect(validateTemplate({ push: { title: '{{ = | | = }}', body: 'b' } }).map((p) => p.param)).toEqual(['channels.push.title']);
  });

  it('keeps the output of the regexes it replaced on the edges they define', () => {
    expect(htmlToText('a <b c <i>d</i> e')).toBe('a d e'); // `<` to the first `>`, whatever is between
    expect(htmlToText('x < y')).toBe('x < y'); // no `>` after: text
    expect(htmlToText('a<head>b</HEAD >c<script>d')).toBe('acd'); // closed case-insensitively; unclosed: its tag goes
    expect(htmlToText('a<header>b</header>')).toBe('ab');
    expect(htmlToText('a<!-- b -->c<!-- d')).toBe('ac<!-- d'); // unterminated, and no `>`: text
    expect(htmlToText('a \u00a0\n<br>\n\t b<BR/>c<br / >d')).toBe('a\nb\ncd');
    expect(htmlToText('a</p  >b</P>c</pre>d')).toBe('a\nb\ncd');
  });
});
