/**
 * A real SMTP server inside the test (the smtp-server package speaks the protocol; mailparser reads
 * what arrived): it asks for a login, can refuse chosen recipients with a 5xx or 4xx reply, and can
 * be stopped and started again on the same port, to play a mail server that is down.
 */
import { createServer } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const SMTP_USER = 'mailer';
const SMTP_PASSWORD = 'mailer-secret-0123';

export interface ReceivedMail {
  /** The envelope's recipients (RCPT TO). */
  to: string[];
  parsed: ParsedMail;
}

export interface TestSmtpOptions {
  /** TLS from the first byte (smtps), with smtp-server's built-in test certificate. */
  secure?: boolean;
  /** `false`: a relay or development catcher that asks for no login (and offers none). */
  login?: boolean;
  /** A reply to RCPT TO for this address, e.g. `{ code: 550, message: 'no such mailbox' }`. */
  refuse?: (address: string) => { code: number; message: string } | undefined;
  /** Awaited before RCPT TO is answered: lets a test act while a client is mid-send. */
  beforeRcptReply?: (address: string) => Promise<void>;
}

export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  /** Logins refused for bad credentials. */
  failedLogins = 0;
  private server: SMTPServer | undefined;

  private constructor(
    readonly port: number,
    private readonly options: TestSmtpOptions,
  ) {}

  /** A server on a free port; `up: false` reserves the port without answering on it. */
  static async start(options: TestSmtpOptions & { up?: boolean } = {}): Promise<TestSmtpServer> {
    const smtp = new TestSmtpServer(await freePort(), options);
    if (options.up !== false) await smtp.up();
    return smtp;
  }

  /** The SMTP_URL of this server, with the credentials it asks for. */
  get url(): string {
    if (this.options.login === false) return `smtp://127.0.0.1:${this.port}`;
    // The built-in certificate is self-signed: the client is told to accept it, for this test only.
    return this.options.secure
      ? `smtps://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${this.port}/?tls.rejectUnauthorized=false`
      : `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = new SMTPServer({
      logger: false,
      secure: this.options.secure ?? false,
      disabledCommands: this.options.login === false ? ['STARTTLS', 'AUTH'] : ['STARTTLS'],
      authOptional: this.options.login === false,
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth: (auth, _session, callback) => {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) return callback(null, { user: auth.username });
        this.failedLogins++;
        return callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
      },
      onRcptTo: (address, _session, callback) => {
        const refusal = this.options.refuse?.(address.address);
        if (refusal) return callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
        const hold = this.options.beforeRcptReply;
        if (!hold) return callback();
        hold(address.address).then(
          () => callback(),
          (err: Error) => callback(err),
        );
      },
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((parsed) => {
            this.received.push({ to: session.envelope.rcptTo.map((r) => r.address), parsed });
            callback();
          })
          .catch((err: Error) => callback(err));
      },
    });
    server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The messages that arrived for one order (by the X-Order-Id header the service sets). */
  forOrder(orderId: string): ParsedMail[] {
    return this.received.map((m) => m.parsed).filter((m) => m.headers.get('x-order-id') === orderId);
  }
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
