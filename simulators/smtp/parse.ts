/**
 * Just enough MIME for the SMTP sink to show what arrived: headers (unfolded, RFC 2047 words
 * decoded), and the text and HTML parts of a single-part or multipart message, with their
 * quoted-printable or base64 transfer encoding undone. UTF-8 and ASCII bodies only: what
 * nodemailer sends. A sink for tests, not a mail client.
 */

export interface ParsedMessage {
  headers: Map<string, string>;
  messageId: string | null;
  subject: string | null;
  from: string | null;
  to: string | null;
  text: string | null;
  html: string | null;
}

const MULTIPART_DEPTH_MAX = 5;

export function parseMessage(raw: string): ParsedMessage {
  const { headers, body } = splitEntity(raw);
  const parts = { text: null as string | null, html: null as string | null };
  collectParts(headers, body, parts, 0);
  return {
    headers,
    messageId: headers.get('message-id') ?? null,
    subject: headers.has('subject') ? decodeWords(headers.get('subject') ?? '') : null,
    from: headers.has('from') ? decodeWords(headers.get('from') ?? '') : null,
    to: headers.has('to') ? decodeWords(headers.get('to') ?? '') : null,
    ...parts,
  };
}

function splitEntity(raw: string): { headers: Map<string, string>; body: string } {
  const normalized = raw.replace(/\r\n/g, '\n');
  const end = normalized.indexOf('\n\n');
  const head = end === -1 ? normalized : normalized.slice(0, end);
  const body = end === -1 ? '' : normalized.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function collectParts(headers: Map<string, string>, body: string, out: { text: string | null; html: string | null }, depth: number): void {
  const contentType = (headers.get('content-type') ?? 'text/plain').toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(headers.get('content-type') ?? '')?.[1];
  if (contentType.startsWith('multipart/') && boundary && depth < MULTIPART_DEPTH_MAX) {
    const sections = body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      const part = splitEntity(section.replace(/^\n/, ''));
      collectParts(part.headers, part.body, out, depth + 1);
    }
    return;
  }
  const decoded = decodeTransfer(body, headers.get('content-transfer-encoding') ?? '7bit');
  if (contentType.startsWith('text/html') && out.html === null) out.html = decoded;
  else if (contentType.startsWith('text/plain') && out.text === null) out.text = decoded;
}

function decodeTransfer(body: string, encoding: string): string {
  const trimmed = body.replace(/\n$/, '');
  switch (encoding.trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(trimmed.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable':
      return decodeQuotedPrintable(trimmed);
    default:
      return trimmed;
  }
}

function decodeQuotedPrintable(text: string): string {
  // Whitespace at the end of a line is transport padding; before a soft break (`=`) it is content.
  return decodeHexEscapes(text.replace(/[ \t]+$/gm, '').replace(/=\n/g, ''));
}

/** `=XX` escapes to bytes, each run decoded as UTF-8; the rest is kept (quoted-printable bodies and Q-encoded words). */
function decodeHexEscapes(text: string): string {
  return text.replace(/(?:=[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/=/g, ''), 'hex').toString('utf8'));
}

/** RFC 2047 encoded words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`); whitespace between two words goes. */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, _charset: string, kind: string, data: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeHexEscapes(data.replace(/_/g, ' ')));
}
