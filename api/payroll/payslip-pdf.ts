import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import PDFDocument from 'pdfkit';
import { formatMinor } from '../../domain/money.js';

/** A payslip as the API answers it in JSON (§9 Payslips); money fields are integer minor units. */
export interface PayslipBody {
  object: 'payslip';
  run_id: string;
  period: string;
  pay_date: string;
  employee: {
    id: string; employee_number: string; first_name: string; last_name: string; email: string; department: string;
  };
  currency: string;
  gross: number;
  tax: number;
  contributions: { code: string; amount: number }[];
  net: number;
  unpaid_days: number;
  leave_payout: number;
  status: 'pending' | 'paid' | 'failed';
  transfer_id: string | null;
  failure_code: string | null;
  tenant_name?: string;
}

const PAGE_MARGIN = 50;
const LABEL_WIDTH = 250;
const VALUE_WIDTH = 245;
const ROW_GAP = 6;

/**
 * DejaVu Sans (package `dejavu-fonts-ttf`), embedded as a subset of the glyphs a payslip uses:
 * employees' names are in every script payroll meets — Łukasz, Dvořák, Дмитрий, Αλέξανδρος —
 * where the 14 built-in PDF fonts stop at Windows-1252. Read once, on the first payslip.
 */
const FONT_DIR = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
let fonts: { regular: Buffer; bold: Buffer } | undefined;
const REGULAR = 'DejaVuSans';
const BOLD = 'DejaVuSans-Bold';
function registerFonts(doc: PDFKit.PDFDocument): void {
  fonts ??= { regular: readFileSync(join(FONT_DIR, `${REGULAR}.ttf`)), bold: readFileSync(join(FONT_DIR, `${BOLD}.ttf`)) };
  doc.registerFont(REGULAR, fonts.regular);
  doc.registerFont(BOLD, fonts.bold);
}

/**
 * A minor-unit amount in the major unit with thousands grouped and the currency code
 * (USD 123456 → "1,234.56 USD", JPY 500 → "500 JPY"). String work on formatMinor's exact
 * output: no floating point, so no amount is ever rounded on a payslip.
 */
export function formatPayslipAmount(amountMinor: number, currency: string): string {
  const exact = formatMinor(amountMinor, currency);
  const sign = exact.startsWith('-') ? '-' : '';
  const [whole = '', fraction] = exact.slice(sign.length).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${grouped}${fraction === undefined ? '' : `.${fraction}`} ${currency}`;
}

type Row = readonly [label: string, value: string];

/** The table's rows, top to bottom: what was earned, what was withheld, what was paid. */
function payslipRows(p: PayslipBody): Row[] {
  const money = (amountMinor: number): string => formatPayslipAmount(amountMinor, p.currency);
  return [
    ['Gross pay', money(p.gross)],
    ['Unpaid leave days', String(p.unpaid_days)],
    ['Leave payout', money(p.leave_payout)],
    ['Tax', money(p.tax)],
    ...p.contributions.map((c): Row => [`Contribution ${c.code}`, money(c.amount)]),
    ['Net pay', money(p.net)],
  ];
}

function statusRows(p: PayslipBody): Row[] {
  const rows: Row[] = [['Status', p.status], ['Transfer', p.transfer_id ?? 'none']];
  if (p.failure_code !== null) rows.push(['Failure', p.failure_code]);
  return rows;
}

function drawRows(doc: PDFKit.PDFDocument, rows: readonly Row[], boldLast: boolean): void {
  rows.forEach(([label, value], i) => {
    const y = doc.y;
    doc.font(boldLast && i === rows.length - 1 ? BOLD : REGULAR);
    doc.text(label, PAGE_MARGIN, y, { width: LABEL_WIDTH, lineBreak: false });
    doc.text(value, PAGE_MARGIN + LABEL_WIDTH, y, { width: VALUE_WIDTH, align: 'right' });
    doc.moveDown(ROW_GAP / doc.currentLineHeight());
  });
}

function drawPayslip(doc: PDFKit.PDFDocument, p: PayslipBody): void {
  const e = p.employee;
  doc.font(BOLD).fontSize(20).text('Payslip', PAGE_MARGIN, PAGE_MARGIN);
  doc.font(REGULAR).fontSize(10);
  if (p.tenant_name !== undefined) doc.text(p.tenant_name);
  doc.text(`Period ${p.period}   Pay date ${p.pay_date}   Run ${p.run_id}`).moveDown();
  doc.font(BOLD).fontSize(12).text(`${e.first_name} ${e.last_name}`);
  doc.font(REGULAR).fontSize(10);
  doc.text(`Employee number ${e.employee_number}   Department ${e.department}`).moveDown();
  doc.fontSize(11);
  drawRows(doc, payslipRows(p), true);
  doc.moveDown();
  drawRows(doc, statusRows(p), false);
}

/**
 * The payslip as a PDF (A4, DejaVu Sans embedded as a subset, compressed streams). Deterministic:
 * the creation date is the pay date, not the clock, pdfkit derives the file id from the document
 * info and the subset's tag from the font's id, so the same payslip always renders the same bytes.
 * DejaVu covers Latin, Greek and Cyrillic in full (and more); Chinese, Japanese and Korean names
 * are not in it and come out as empty boxes.
 */
export function renderPayslipPdf(payslip: PayslipBody): Promise<Buffer> {
  const createdAt = new Date(`${payslip.pay_date}T00:00:00Z`);
  // pdfkit would write "NaN" into the document's dates and id: a caller's bug, caught here.
  if (!/^\d{4}-\d{2}-\d{2}$/.test(payslip.pay_date) || Number.isNaN(createdAt.getTime())) {
    return Promise.reject(new Error(`Payslip pay_date is not a YYYY-MM-DD day: ${payslip.pay_date}`));
  }
  const doc = new PDFDocument({
    size: 'A4',
    margin: PAGE_MARGIN,
    compress: true,
    autoFirstPage: true,
    info: {
      Title: `Payslip ${payslip.period} ${payslip.employee.employee_number}`,
      Producer: 'Steadfast',
      Creator: 'Steadfast',
      CreationDate: createdAt,
    },
  });
  registerFonts(doc);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    drawPayslip(doc, payslip);
    doc.end();
  });
}
