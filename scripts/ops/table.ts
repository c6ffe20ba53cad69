/** Plain-text tables for `npm run ops`: a header, aligned columns, nothing a terminal cannot show. */

export interface Column<Row> {
  header: string;
  value: (row: Row) => string | number | null | undefined;
  /** Numbers read best right-aligned. */
  align?: 'left' | 'right';
  /** Longer cells are cut with `…` (free text such as errors); the JSON form has them whole. */
  maxWidth?: number;
}

const GAP = '  ';

function cell<Row>(column: Column<Row>, row: Row): string {
  const raw = column.value(row);
  const text = raw === null || raw === undefined || raw === '' ? '-' : String(raw).replace(/\s+/g, ' ');
  return column.maxWidth !== undefined && text.length > column.maxWidth ? `${text.slice(0, column.maxWidth - 1)}…` : text;
}

/**
 * @example
 * formatTable([{ header: 'ID', value: (r) => r.id }, { header: 'N', value: (r) => r.n, align: 'right' }], rows)
 */
export function formatTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((column) => cell(column, row)));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values
    .map((value, i) => (columns[i]!.align === 'right' ? value.padStart(widths[i]!) : value.padEnd(widths[i]!)))
    .join(GAP)
    .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** `2026-11-30T11:34:44.123Z` → `2026-11-30 11:34:44Z`: seconds are enough on a terminal. */
export function shortTime(iso: string | null | undefined): string | null {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : null;
}

/** `label  value` lines, the labels padded to the widest. */
export function formatFields(fields: readonly [string, string | number | null][]): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width + 1)}  ${value ?? '-'}`).join('\n');
}
