import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { parseMessage } from './parse.js';
import type { ReceiptSender } from '../receipts.js';

/** One message the sink accepted. */
export interface ReceivedEmail {
  /** As the client sent it: a retried send of the same delivery repeats it. */
  messageId: string | null;
  envelope: { from: string; to: string[] };
  subject: string | null;
  from: string | null;
  to: string | null;
  text: string | null;
  html: string | null;
  raw: string;
  receivedAt: string;
}

export interface SmtpSink {
  port: number;
  url: string;
  messages(): ReceivedEmail[];
  /** The user names clients authenticated with (AUTH), oldest first: the sink takes any. */
  logins(): string[];
  /** The next `count` messages are refused at the end of DATA with `code` (451: try again later). */
  failNext(count: number, code?: number): void;
  /** Every message is refused with `code` until `clear()`. */
  failAlways(code: number): void;
  /** Drops the received messages and the armed failures. */
  clear(): void;
  close(): Promise<void>;
}

/** Bounds: one message, and how many the sink keeps (oldest dropped first). */
const MESSAGE_MAX_BYTES = 10 * 1024 * 1024;
const MESSAGES_MAX = 10_000;

/**
 * A local SMTP server that accepts every message and keeps it, for tests and `npm start`.
 * Loopback only, no TLS, authentication optional (any credentials pass). Recipients whose local
 * part starts with `bad_` are refused with 550 (no such mailbox), like push tokens `bad_…`.
 * With `receipts`, each accepted message gets a receipt per recipient (simulators/receipts.ts:
 * `bounce_…@` ones are accepted here, then bounce), keyed by the message's Message-ID.
 *
 * @example
 * const sink = await startSmtpSink({ port: 0 });
 * const config = loadConfig({ SMTP_URL: sink.url });
 * sink.failNext(1); // the next message gets 451
 */
export async function startSmtpSink(options: { port: number; hostname?: string; receipts?: ReceiptSender }): Promise<SmtpSink> {
  const hostname = options.hostname ?? '127.0.0.1';
  const received: ReceivedEmail[] = [];
  const logins: string[] = [];
  let failures: { remaining: number | null; code: number } | null = null;

  const takeFailure = (): number | null => {
    if (!failures) return null;
    const { code } = failures;
    if (failures.remaining !== null && --failures.remaining <= 0) failures = null;
    return code;
  };

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    size: MESSAGE_MAX_BYTES,
    logger: false,
    banner: 'Steadfast SMTP sink',
    socketTimeout: 30_000,
    closeTimeout: 1_000,
    onAuth(auth, _session, callback) {
      if (logins.length >= MESSAGES_MAX) logins.shift();
      logins.push(auth.username ?? '');
      callback(null, { user: 'sink' });
    },
    onRcptTo(address, _session, callback) {
      if (address.address.toLowerCase().startsWith('bad_')) return callback(smtpError(550, '5.1.1 No such mailbox'));
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(smtpError(552, '5.3.4 Message too big'));
        const code = takeFailure();
        if (code !== null) return callback(smtpError(code, code >= 500 ? '5.7.1 Refused (injected)' : '4.3.0 Try again later (injected)'));
        const raw = Buffer.concat(chunks).toString('utf8');
        const parsed = parseMessage(raw);
        if (received.length >= MESSAGES_MAX) received.shift();
        received.push({
          messageId: parsed.messageId,
          envelope: {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
          },
          subject: parsed.subject, from: parsed.from, to: parsed.to, text: parsed.text, html: parsed.html,
          raw, receivedAt: new Date().toISOString(),
        });
        const { messageId } = parsed;
        if (options.receipts && messageId) {
          for (const r of session.envelope.rcptTo) options.receipts.accepted('email', { messageId, recipient: r.address });
        }
        callback(null, `2.0.0 Ok: queued as ${received.length}`);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A client's broken connection must not crash the test process.
  server.on('error', () => undefined);
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    url: `smtp://${hostname}:${port}`,
    messages: () => [...received],
    logins: () => [...logins],
    failNext(count, code = 451) {
      failures = { remaining: count, code };
    },
    failAlways(code) {
      failures = { remaining: null, code };
    },
    clear() {
      received.length = 0;
      logins.length = 0;
      failures = null;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}
