import type pg from 'pg';

/**
 * `COPY … FROM STDIN` with plain `pg` (no pg-copy-streams): a "submittable" query object, the hook
 * `pg` offers for protocols it does not wrap itself. The rows are encoded in COPY's text format and
 * sent in chunks once the server asks for them. Used where a bulk load is the point (the floor
 * `bench:broadcast` compares the broadcast's page writes with).
 */

/** What `pg`'s connection can do that its types do not say (lib/connection.js). */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

const CHUNK_BYTES = 64 * 1024;

/** A field in COPY's text format: `\N` for null; backslash, tab, newline and carriage return escaped. */
function field(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function encode(rows: Iterable<readonly (string | null)[]>): Buffer[] {
  const chunks: Buffer[] = [];
  let pending: string[] = [];
  let pendingLength = 0;
  for (const row of rows) {
    const line = `${row.map(field).join('\t')}\n`;
    pending.push(line);
    pendingLength += line.length;
    if (pendingLength >= CHUNK_BYTES) {
      chunks.push(Buffer.from(pending.join(''), 'utf8'));
      pending = [];
      pendingLength = 0;
    }
  }
  if (pending.length > 0) chunks.push(Buffer.from(pending.join(''), 'utf8'));
  return chunks;
}

class CopyFromStdin {
  #rowCount = 0;
  #settled = false;

  constructor(
    readonly text: string,
    private readonly chunks: Buffer[],
    private readonly done: (err: Error | null, rowCount: number) => void,
  ) {}

  submit(connection: pg.Connection): void {
    (connection as unknown as CopyConnection).query(this.text);
  }

  handleCopyInResponse(connection: pg.Connection): void {
    const copy = connection as unknown as CopyConnection;
    for (const chunk of this.chunks) copy.sendCopyFromChunk(chunk);
    copy.endCopyFrom();
  }

  handleCommandComplete(msg: { text?: string }): void {
    const match = /^COPY (\d+)$/.exec(msg.text ?? '');
    if (match) this.#rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {
    this.#settle(null);
  }

  /** A backend error (then pg forgets this query: no ReadyForQuery reaches it) or a lost connection. */
  handleError(err: Error): void {
    this.#settle(err);
  }

  // Not part of COPY FROM; pg calls them only for other replies.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  #settle(err: Error | null): void {
    if (this.#settled) return;
    this.#settled = true;
    this.done(err, this.#rowCount);
  }
}

/**
 * Runs `sql` (a `COPY table (columns) FROM STDIN`) with `rows`, each a list of text fields (null:
 * SQL NULL) in the statement's column order; returns the rows the server loaded.
 *
 * @example
 * await copyFromStdin(client, 'COPY t (a, b) FROM STDIN', [['1', 'x'], ['2', null]]);
 */
export function copyFromStdin(db: pg.PoolClient | pg.Client, sql: string, rows: Iterable<readonly (string | null)[]>): Promise<number> {
  if (!/^\s*COPY\s[^;]*\sFROM\s+STDIN\s*$/i.test(sql)) throw new Error('copyFromStdin takes one COPY … FROM STDIN statement');
  const chunks = encode(rows);
  return new Promise((resolve, reject) => {
    db.query(new CopyFromStdin(sql, chunks, (err, rowCount) => (err ? reject(err) : resolve(rowCount))));
  });
}
