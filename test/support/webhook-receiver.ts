/**
 * A real HTTP receiver of webhooks, as an integrator would run one: it verifies each message's
 * signature with the `standardwebhooks` package and records what arrived. How it answers is set
 * per path by the test: 2xx, an error status, a run of failures before success, a hang, or 410;
 * it can also stop listening (down) and listen again on the same port (up).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  path: string;
  webhookId: string;
  timestamp: number;
  /** True when `standardwebhooks` verified the signature with the secret registered for the path. */
  verified: boolean;
  type: string;
  orderId: string;
  version: number;
  body: { id: string; type: string; timestamp: string; data: { version: number; order: Record<string, unknown> } };
  raw: string;
  headers: Record<string, string>;
}

/** One request that reached the receiver, whatever it was answered. */
export interface Arrival {
  path: string;
  webhookId: string;
  status: number | 'hang';
}

/** How a path answers: a status, `hang` (never), or a list of statuses consumed one per request, the last repeated. */
export type Behaviour = number | 'hang' | number[];

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Every request that reached a path, verified or not, answered or not. */
  readonly hits = new Map<string, number>();
  readonly arrivals: Arrival[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly secrets = new Map<string, string[]>();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  port = 0;
  /** How long each answer takes, so that attempts are in flight when a test strikes. */
  latencyMs = 0;

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await receiver.up();
    return receiver;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** How `path` answers from now on. */
  answer(path: string, behaviour: Behaviour): void {
    this.behaviours.set(path, Array.isArray(behaviour) ? [...behaviour] : behaviour);
  }

  /** The secrets `path`'s messages must verify with (any of them). */
  trust(path: string, ...secrets: string[]): void {
    this.secrets.set(path, secrets);
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Listens (again, on the same port once it has one). */
  async up(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops every connection: attempts meet a refused connection. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const headers = {
      'webhook-id': String(req.headers['webhook-id'] ?? ''),
      'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
      'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
    };
    const verified = (this.secrets.get(path) ?? []).some((secret) => {
      try {
        new Webhook(secret).verify(raw, headers);
        return true;
      } catch {
        return false;
      }
    });
    const body = JSON.parse(raw) as Received['body'];
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const behaviour = this.behaviours.get(path) ?? 200;
    if (behaviour === 'hang') {
      this.arrivals.push({ path, webhookId: headers['webhook-id'], status: 'hang' });
      this.hanging.add(res);
      res.once('close', () => this.hanging.delete(res));
      return;
    }
    const status = Array.isArray(behaviour) ? (behaviour.length > 1 ? behaviour.shift()! : behaviour[0]!) : behaviour;
    this.arrivals.push({ path, webhookId: headers['webhook-id'], status });
    // Recorded as received only when it was answered with a success, as an integrator would count it.
    if (status >= 200 && status < 300) {
      this.received.push({
        path,
        webhookId: headers['webhook-id'],
        timestamp: Number(headers['webhook-timestamp']),
        verified,
        type: body.type,
        orderId: String(body.data.order.id),
        version: body.data.version,
        body,
        raw,
        headers,
      });
    }
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
  }

  async stop(): Promise<void> {
    await this.down();
  }
}
