import nodemailer, { type NodemailerError, type SMTPPoolOptions } from 'nodemailer';
import { DeliveryError, type EmailSender } from './types.js';

export interface EmailSenderOptions {
  /**
   * `smtps://user:pass@host:port` (implicit TLS) or `smtp://…` (STARTTLS when the server offers it;
   * required when the URL has credentials); config SMTP_URL.
   */
  smtpUrl: string;
  /** `Name <address>` (config SMTP_FROM). */
  from: string;
  /** Connect, greeting and per-step socket inactivity limit (config PROVIDER_TIMEOUT_MS). */
  timeoutMs: number;
  /** Open SMTP connections at most. */
  maxConnections?: number;
}

const ADDRESS = /^[^\s@<>(),;:"\\[\]]+@[^\s@<>(),;:"\\[\]]+$/;
const ADDRESS_MAX_CHARS = 320;
const MESSAGE_ID_KEY = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * Email over SMTP with nodemailer, through a small pool. Every message carries the Message-ID
 * `<idempotency key@steadfast>`: a send retried after an unknown outcome (timeout after DATA) is
 * recognisable as the same message downstream. SMTP 4xx and lost connections are retryable; 5xx
 * (a rejected recipient or message) is not, except 503 and refused credentials (configuration,
 * fixed then replayed).
 *
 * @example
 * const email = createEmailSender({ smtpUrl: config.SMTP_URL, from: config.SMTP_FROM, timeoutMs: 5_000 });
 * await email.send({ to: 'ada@example.com', subject, html, text, idempotencyKey: deliveryId });
 * email.close();
 */
export function createEmailSender(options: EmailSenderOptions): EmailSender {
  const transport = nodemailer.createTransport({ ...transportOptions(options), pool: true });
  return {
    async send(message) {
      if (message.to.length > ADDRESS_MAX_CHARS || !ADDRESS.test(message.to)) {
        throw new DeliveryError('the email address is not a single valid address', false, undefined, 'recipient_rejected');
      }
      if (!MESSAGE_ID_KEY.test(message.idempotencyKey)) {
        throw new DeliveryError(`idempotency key ${JSON.stringify(message.idempotencyKey)} cannot be a Message-ID`, false, undefined, 'rejected');
      }
      try {
        const info = await transport.sendMail({
          from: options.from,
          // An address object, not a string: a contact such as "a@x.com, b@y.com" must not fan out.
          to: { name: '', address: message.to },
          subject: message.subject,
          html: message.html,
          text: message.text,
          messageId: `<${message.idempotencyKey}@steadfast>`,
          disableFileAccess: true,
          disableUrlAccess: true,
        });
        return { providerMessageId: info.messageId, responseStatus: replyCode(info.response) };
      } catch (err) {
        throw emailError(err as NodemailerError);
      }
    },
    close() {
      transport.close();
    },
  };
}

/**
 * Credentials never cross the network in clear: with a user in the URL, `smtp://` must upgrade with
 * STARTTLS (`requireTLS`: a server that does not offer it fails the send, `unreachable`, before
 * AUTH), and `smtps://` is TLS from the start. Certificates are verified (Node's default, kept).
 * Without credentials (the local sink), STARTTLS stays opportunistic.
 */
export function transportOptions(options: EmailSenderOptions): SMTPPoolOptions {
  const url = new URL(options.smtpUrl);
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new RangeError(`SMTP_URL must be smtp:// or smtps://, got ${url.protocol}`);
  const secure = url.protocol === 'smtps:';
  const credentials = url.username !== '' || url.password !== '';
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    requireTLS: credentials && !secure,
    ...(credentials ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    dnsTimeout: options.timeoutMs,
    maxConnections: options.maxConnections ?? 3,
    maxMessages: 100,
    // The delivery workflow owns retries: the pool must not silently re-send on a dropped connection.
    maxRequeues: 0,
    idleTimeout: 30_000,
    logger: false,
  };
}

/** How an SMTP failure reads: a reply code says who refused what; no reply means no answer. */
export function emailError(err: NodemailerError): DeliveryError {
  const code = err.responseCode ?? err.rejectedErrors?.[0]?.responseCode;
  const what = (err.response ?? err.rejectedErrors?.[0]?.response ?? err.message).slice(0, 300);
  if (err.code === 'EAUTH' || err.code === 'ENOAUTH') return new DeliveryError(`SMTP refused our credentials: ${what}`, true, code, 'auth_failed');
  // The connection could not be encrypted (no STARTTLS, a bad certificate): nothing was sent, credentials included.
  if (err.code === 'ETLS') return new DeliveryError(`SMTP connection could not be encrypted: ${what}`, true, code, 'unreachable');
  if (code === undefined) {
    const timeout = err.code === 'ETIMEDOUT';
    return new DeliveryError(`SMTP server gave no answer (${err.code ?? 'error'}): ${err.message}`.slice(0, 300), true, undefined, timeout ? 'timeout' : 'unreachable');
  }
  if (code >= 500 && code !== 503) {
    // RCPT refused (550 no such mailbox, 553 bad address) is the recipient; DATA refused (552, 554) the message.
    const recipient = err.command?.toUpperCase().startsWith('RCPT') || err.code === 'EENVELOPE';
    return new DeliveryError(`SMTP ${code}: ${what}`, false, code, recipient ? 'recipient_rejected' : 'rejected');
  }
  return new DeliveryError(`SMTP ${code}: ${what}`, true, code, 'provider_unavailable');
}

function replyCode(response: string): number | undefined {
  const code = Number(/^(\d{3})/.exec(response)?.[1]);
  return Number.isInteger(code) ? code : undefined;
}
