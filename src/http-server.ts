/**
 * The HTTP listener of the API (PORT) or of a worker's operations endpoints (METRICS_PORT): it
 * owns the socket, the bounds on slow clients, the cap on connections per client address, and
 * its own close. A port it cannot take is said in one line naming the variable.
 */
import type { Socket } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Logger } from 'pino';
import { RepeatedLog } from './lib/repeated-log.ts';

export interface HttpLimits {
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  maxConnectionsPerAddress: number;
  trustProxy: boolean;
}

export interface HttpServerOptions {
  hostname: string;
  port: number;
  /** The variable that set `port`, named when it cannot be taken. */
  variable: 'PORT' | 'METRICS_PORT';
  limits: HttpLimits;
}

export class HttpServer {
  private server: ServerType | undefined;
  /** The bound port and address, as the socket reports them, once listening. */
  port: number | undefined;
  host: string | undefined;

  constructor(
    private readonly fetch: (request: Request) => Response | Promise<Response>,
    private readonly options: HttpServerOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Serves on HOST with bounds on slow clients: the headers must arrive within
   * HTTP_HEADERS_TIMEOUT_MS and the whole request within HTTP_REQUEST_TIMEOUT_MS, checked every
   * second (Node checks every 30 s by default, so a trickling body could hold a connection for long).
   */
  listen(): Promise<void> {
    const { hostname, port, variable, limits } = this.options;
    return new Promise<void>((resolve, reject) => {
      const server = serve(
        {
          fetch: this.fetch,
          port,
          hostname,
          serverOptions: {
            headersTimeout: limits.httpHeadersTimeoutMs,
            requestTimeout: Math.max(limits.httpRequestTimeoutMs, limits.httpHeadersTimeoutMs),
            connectionsCheckingInterval: 1_000,
          },
        },
        (info) => {
          this.server = server;
          this.port = info.port;
          this.host = info.address;
          resolve();
        },
      );
      server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, variable, hostname, port)));
      // Behind a proxy every connection comes from the proxy's address: no cap there.
      if (limits.maxConnectionsPerAddress > 0 && !limits.trustProxy) {
        capConnectionsPerAddress(server, limits.maxConnectionsPerAddress, this.logger);
      }
    });
  }

  /** Takes no new connections and resolves once the open ones have ended. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Closes, at once and without reading it, a connection from an address that already holds `cap`
 * open connections: one client (idle keep-alive sockets, a slow-connection attack) cannot take
 * every socket and file descriptor the process has, whatever the request timeouts.
 */
function capConnectionsPerAddress(server: ServerType, cap: number, logger: Logger): void {
  const open = new Map<string, number>();
  const refusals = new RepeatedLog(logger.child({ component: 'http' }));
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = open.get(address) ?? 0;
    if (count >= cap) {
      refusals.report(
        address,
        'warn',
        { address, open: count, cap },
        'connection refused: this client address already holds MAX_CONNECTIONS_PER_ADDRESS connections',
      );
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

/** A port the service cannot listen on: the operator's to fix, said in one line naming the variable. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
}

function listenError(error: NodeJS.ErrnoException, variable: string, host: string, port: number): Error {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (error.code === 'EADDRINUSE') {
    return new ListenError(
      `${variable}=${port}: ${where} is already in use by another process; stop it, or set ${variable} to a free port`,
    );
  }
  if (error.code === 'EACCES') {
    return new ListenError(
      `${variable}=${port}: not allowed to listen on ${where} (ports below 1024 need privileges); set ${variable} to another port`,
    );
  }
  if (error.code === 'EADDRNOTAVAIL') {
    return new ListenError(
      `HOST=${host}: no interface of this machine has that address; set HOST to one of its addresses, or 0.0.0.0`,
    );
  }
  return error;
}
