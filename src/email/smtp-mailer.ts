/**
 * Customer messages by email over SMTP (SMTP_URL, MAIL_FROM), through nodemailer.
 *
 * Each (order, kind) has one Message-ID, `<orderId.kind@domain of MAIL_FROM>`, so that a message
 * sent again (a worker that died after the server's 250 and before the service recorded it) is
 * recognisably the same message to the receiving side. How a failure is classed decides what the
 * job does next: a server that cannot be reached, times out, refuses our login or answers 4xx
 * throws TransientMailError and the job retries with backoff; a 5xx reply to the recipient or the
 * message is a permanent refusal, answered as `refused` and never retried.
 */
import { Transform } from 'node:stream';
import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';
import { TransientError } from '../domain/errors.ts';
import type { NotificationKind } from '../domain/events.ts';
import type { MailOutcome, Mailer, MessageFacts } from '../domain/ports.ts';
import { renderMessage } from './templates.ts';

export interface MailSettings {
  /** smtp:// or smtps://, with credentials or (a local relay, a development catcher) without. */
  smtpUrl: string;
  /** The From header, e.g. `Shop <orders@shop.example>`. */
  from: string;
  /** The bare address of `from`; its domain names the Message-IDs. */
  fromAddress: string;
}

/**
 * Whether SMTP_URL's credentials may cross a network in plain text: smtp:// (STARTTLS only when
 * the server offers it) with a login, to a host other than this one. Without credentials, or over
 * smtps://, or to loopback, there is nothing to warn about.
 */
export function credentialsMayTravelInPlainText(smtpUrl: string): boolean {
  const url = new URL(smtpUrl);
  if (url.protocol !== 'smtp:' || url.username === '') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return !(host === 'localhost' || host === '::1' || /^127\./.test(host));
}

/** A mail server that could not take the message now: worth retrying later. */
export class TransientMailError extends TransientError {
  override readonly name = 'TransientMailError';
}

/**
 * A send given up before its end of DATA because the run was no longer entitled to it (its lease
 * lapsed while it was paused): the server keeps nothing, and another run sends, or has sent, the
 * message. Transient: a retry finds the message recorded.
 */
export class MailAbandoned extends TransientError {
  override readonly name = 'MailAbandoned';
}

/** Where a message's guard travels, from sendMail's options to the stream plugin below. */
const GUARD = 'x-orders-still-entitled';

// Bounded so that a send ends well within a job's lock, whatever the server does.
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000, dnsTimeout: 10_000 };
const MAX_REASON = 200;

export class SmtpMailer implements Mailer {
  private readonly transport;
  private readonly domain: string;

  constructor(
    private readonly settings: MailSettings,
    private readonly logger: Logger,
  ) {
    this.transport = createTransport({ url: settings.smtpUrl, ...TIMEOUTS });
    // The message reaches the server through this stream; its end is what makes nodemailer send
    // the "." that commits the message. A guard that says no fails the stream there instead, and
    // the connection is dropped with the message unfinished.
    this.transport.use('stream', (mail, done) => {
      const guard = (mail.data as Record<string, unknown>)[GUARD] as (() => Promise<boolean>) | undefined;
      if (guard) {
        mail.message.transform(
          () =>
            new Transform({
              transform: (chunk, _encoding, next) => next(null, chunk),
              flush: (next) => {
                guard().then(
                  (ok) => next(ok ? null : new MailAbandoned('no longer entitled to send: the lease lapsed')),
                  (err: unknown) => next(new MailAbandoned('could not confirm the lease before sending', { cause: err })),
                );
              },
            }),
        );
      }
      done();
    });
    this.domain = settings.fromAddress.slice(settings.fromAddress.lastIndexOf('@') + 1);
  }

  async send(message: {
    to: string;
    kind: NotificationKind;
    facts: MessageFacts;
    stillEntitled?: () => Promise<boolean>;
  }): Promise<MailOutcome> {
    const { orderId } = message.facts;
    const messageId = messageIdFor(orderId, message.kind, this.domain, message.facts.subject?.id);
    const rendered = renderMessage(message.kind, message.facts);
    try {
      await this.transport.sendMail({
        from: this.settings.from,
        to: message.to,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        messageId,
        headers: { 'X-Order-Id': orderId, 'X-Message-Kind': message.kind },
        ...(message.stillEntitled ? { [GUARD]: message.stillEntitled } : {}),
      });
    } catch (error) {
      const abandoned = abandonedIn(error);
      if (abandoned) {
        this.logger.warn(
          { orderId, kind: message.kind, messageId },
          'email abandoned before its end: the lease lapsed; not sent',
        );
        throw abandoned;
      }
      const refusal = refusalOf(error);
      if (refusal) {
        this.logger.warn(
          { orderId, kind: message.kind, code: refusal.code, reason: refusal.reason },
          'mail server refused the message',
        );
        return { outcome: 'refused', ...refusal };
      }
      throw new TransientMailError(`mail not sent, will retry: ${describe(error)}`, { cause: error });
    }
    this.logger.info({ orderId, kind: message.kind, messageId }, 'email sent');
    return { outcome: 'sent', messageId };
  }

  close(): void {
    this.transport.close();
  }
}

function abandonedIn(error: unknown): MailAbandoned | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof MailAbandoned) return e;
  }
  return undefined;
}

/** The one Message-ID of an (order, kind): order ids and kinds hold only letters, digits and `_`. */
export function messageIdFor(orderId: string, kind: NotificationKind, domain: string, subjectId?: string): string {
  // A message about one refund or return of the order is one per (that refund or return, kind).
  return subjectId ? `<${orderId}.${subjectId}.${kind}@${domain}>` : `<${orderId}.${kind}@${domain}>`;
}

interface SmtpError {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/**
 * A 5xx reply to RCPT TO or DATA refuses this recipient or this message for good. A 5xx to MAIL
 * FROM or AUTH is about our own sender or credentials, which an operator fixes: retried.
 */
export function refusalOf(error: unknown): { code: number; reason: string } | undefined {
  const e = (error ?? {}) as SmtpError;
  if (typeof e.responseCode !== 'number' || e.responseCode < 500 || e.responseCode > 599) return undefined;
  if (e.command !== 'RCPT TO' && e.command !== 'DATA') return undefined;
  const reply = (e.response ?? e.message ?? '').replace(/\s+/g, ' ').trim();
  return { code: e.responseCode, reason: reply.slice(0, MAX_REASON) };
}

function describe(error: unknown): string {
  const e = (error ?? {}) as SmtpError;
  return [e.code, e.responseCode, e.message].filter((part) => part !== undefined).join(' ');
}
