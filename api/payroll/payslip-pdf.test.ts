import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { getDocument, VerbosityLevel } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatPayslipAmount, renderPayslipPdf, type PayslipBody } from './payslip-pdf.js';

/** pdf.js reads the 14 standard fonts' metrics from its own package (a path: Node reads it with fs). */
const STANDARD_FONTS = `${join(dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), 'standard_fonts')}/`;

/** The PDF's text as Mozilla's pdf.js reads it (inflating pdfkit's compressed streams), one line per text line. */
async function pdfText(pdf: Buffer): Promise<{ text: string; creationDate: unknown }> {
  const doc = await getDocument({
    data: new Uint8Array(pdf), standardFontDataUrl: STANDARD_FONTS, verbosity: VerbosityLevel.ERRORS,
    isEvalSupported: false, useSystemFonts: false,
  }).promise;
  try {
    let text = '';
    for (let n = 1; n <= doc.numPages; n++) {
      const content = await (await doc.getPage(n)).getTextContent();
      for (const item of content.items) {
        if ('str' in item) text += item.str + (item.hasEOL ? '\n' : '');
      }
      text += '\n';
    }
    const { info } = await doc.getMetadata();
    return { text, creationDate: (info as Record<string, unknown>)['CreationDate'] };
  } finally {
    await doc.destroy();
  }
}

function payslip(overrides: Partial<PayslipBody> = {}): PayslipBody {
  return {
    object: 'payslip', run_id: 'pr_01JD5Z8Q7M3N4P5R6S7T8V9W0X', period: '2026-11', pay_date: '2026-11-27',
    employee: {
      id: 'emp_01JD5Z8Q7M3N4P5R6S7T8V9W0Y', employee_number: 'E-0042', first_name: 'Zoë', last_name: 'Müller',
      email: 'zoe@example.com', department: 'Engineering',
    },
    currency: 'USD', gross: 523_456, tax: 98_765,
    contributions: [{ code: 'SOCSEC', amount: 32_454 }, { code: 'MEDICARE', amount: 7_590 }],
    net: 123_456, unpaid_days: 1, leave_payout: 4_500, status: 'paid', transfer_id: 'tr_01JD5Z9A0B1C2D3E4F5G6H7J8K',
    failure_code: null, tenant_name: 'Acme Ltd',
    ...overrides,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('formatPayslipAmount', () => {
  it('writes the major unit exactly, grouped, by the currency exponent', () => {
    expect(formatPayslipAmount(123_456, 'USD')).toBe('1,234.56 USD');
    expect(formatPayslipAmount(5, 'USD')).toBe('0.05 USD');
    expect(formatPayslipAmount(0, 'USD')).toBe('0.00 USD');
    expect(formatPayslipAmount(1_234_567, 'JPY')).toBe('1,234,567 JPY');
    expect(formatPayslipAmount(999, 'JPY')).toBe('999 JPY');
    expect(formatPayslipAmount(1_234_567, 'BHD')).toBe('1,234.567 BHD');
    expect(formatPayslipAmount(-123_456, 'EUR')).toBe('-1,234.56 EUR');
    expect(formatPayslipAmount(1_000_000_000_000, 'USD')).toBe('10,000,000,000.00 USD');
  });
});

describe('renderPayslipPdf', () => {
  it('renders a USD payslip whose text reads back: name, period, every amount in major units', async () => {
    const pdf = await renderPayslipPdf(payslip());
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const { text } = await pdfText(pdf);
    expect(text).toContain('Payslip');
    expect(text).toContain('Zoë Müller');
    expect(text).toContain('Acme Ltd');
    expect(text).toContain('Period 2026-11');
    expect(text).toContain('Pay date 2026-11-27');
    expect(text).toContain('Employee number E-0042');
    expect(text).toContain('Department Engineering');
    expect(text).toContain('Gross pay 5,234.56 USD');
    expect(text).toContain('Unpaid leave days 1');
    expect(text).toContain('Leave payout 45.00 USD');
    expect(text).toContain('Tax 987.65 USD');
    expect(text).toContain('Contribution SOCSEC 324.54 USD');
    expect(text).toContain('Contribution MEDICARE 75.90 USD');
    expect(text).toContain('Net pay 1,234.56 USD');
    expect(text).toContain('Status paid');
    expect(text).toContain('Transfer tr_01JD5Z9A0B1C2D3E4F5G6H7J8K');
  });

  it('writes names in Latin Extended, Cyrillic and Greek (an embedded font), and they read back', async () => {
    for (const [first_name, last_name, department] of [['Łukasz', 'Żółć-Dvořák', 'Księgowość'], ['Дмитрий', 'Шостакович', 'Бухгалтерия'], ['Αλέξανδρος', 'Παπαδόπουλος', 'Λογιστήριο']]) {
      const pdf = await renderPayslipPdf(payslip({ employee: { ...payslip().employee, first_name: first_name!, last_name: last_name!, department: department! } }));
      const { text } = await pdfText(pdf);
      expect(text).toContain(`${first_name} ${last_name}`);
      expect(text).toContain(`Department ${department}`);
      expect(pdf.includes('DejaVuSans')).toBe(true);
    }
  });

  it('fails on a wrongly scaled amount: 123456 USD cents is 1,234.56, never 12,345.6 or 123,456', async () => {
    const { text } = await pdfText(await renderPayslipPdf(payslip()));
    expect(text).toMatch(/Net pay 1,234\.56 USD\n/);
    expect(text).not.toContain('12,345.6');
    expect(text).not.toContain('123,456');
    expect(text).not.toContain('1234.56');
  });

  it('uses the currency exponent: JPY has none, BHD three', async () => {
    const jpy = payslip({
      currency: 'JPY', gross: 412_500, tax: 41_250, contributions: [{ code: 'KENPO', amount: 20_625 }], net: 350_625,
      leave_payout: 0,
    });
    const jpyText = (await pdfText(await renderPayslipPdf(jpy))).text;
    expect(jpyText).toContain('Gross pay 412,500 JPY');
    expect(jpyText).toContain('Contribution KENPO 20,625 JPY');
    expect(jpyText).toContain('Net pay 350,625 JPY');
    expect(jpyText).not.toContain('350,625.');

    const bhd = payslip({
      currency: 'BHD', gross: 1_234_567, tax: 0, contributions: [{ code: 'GOSI', amount: 86_420 }], net: 1_148_147,
      leave_payout: 5,
    });
    const bhdText = (await pdfText(await renderPayslipPdf(bhd))).text;
    expect(bhdText).toContain('Gross pay 1,234.567 BHD');
    expect(bhdText).toContain('Leave payout 0.005 BHD');
    expect(bhdText).toContain('Contribution GOSI 86.420 BHD');
    expect(bhdText).toContain('Net pay 1,148.147 BHD');
  });

  it('shows an unpaid line: pending, no transfer; a failed one with its failure code', async () => {
    const pending = (await pdfText(await renderPayslipPdf(payslip({ status: 'pending', transfer_id: null })))).text;
    expect(pending).toContain('Status pending');
    expect(pending).toContain('Transfer none');
    const failed = payslip({ status: 'failed', transfer_id: null, failure_code: 'currency_mismatch' });
    expect((await pdfText(await renderPayslipPdf(failed))).text).toContain('Failure currency_mismatch');
  });

  it('renders the same bytes for the same payslip, whatever the clock says', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2027-01-01T09:00:00Z'));
    const first = await renderPayslipPdf(payslip());
    vi.setSystemTime(new Date('2031-06-15T17:30:00Z'));
    const second = await renderPayslipPdf(payslip());
    expect(second.equals(first)).toBe(true);
    expect((await renderPayslipPdf(payslip({ net: 123_457 }))).equals(first)).toBe(false);
    const { creationDate } = await pdfText(first);
    expect(creationDate).toBe('D:20261127000000Z');
  });

  it('rejects a pay date that is not a day', async () => {
    await expect(renderPayslipPdf(payslip({ pay_date: '27/11/2026' }))).rejects.toThrow(/pay_date/);
  });
});
