/**
 * A TCP proxy for tests that can make its open connections half-open: after `blackhole()`, every
 * connection open at that moment stays open on both sides but carries no byte either way and
 * passes on no FIN (what a lost NAT entry, or an L4 balancer whose upstream moved, looks like),
 * while connections opened afterwards work as usual. `retarget()` sends new connections to another
 * server while the open ones stay where they were: a stable address moved to a new primary.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from '../../src/redis-server/managed-redis.ts';

export interface TcpProxy {
  port: number;
  /** Connections ever accepted. */
  readonly accepted: number;
  /** Connections that are still open on the client's side. */
  readonly open: number;
  /** From now on, every connection open now drops every byte; new ones work. */
  blackhole(): number;
  /** New connections go to `port` from now on; the open ones keep their server. */
  retarget(port: number): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  dead: boolean;
}

export async function startTcpProxy(initial: { host?: string; port: number }): Promise<TcpProxy> {
  let target = initial;
  const pairs = new Set<Pair>();
  let accepted = 0;
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    const upstream = connect({ host: target.host ?? '127.0.0.1', port: target.port, allowHalfOpen: true });
    const pair: Pair = { client, upstream, dead: false };
    pairs.add(pair);
    // Forward by hand rather than with pipe(), so that a black-holed pair can drop bytes and ends.
    client.on('data', (chunk) => {
      if (!pair.dead) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!pair.dead) client.write(chunk);
    });
    client.on('end', () => {
      if (!pair.dead) upstream.end();
    });
    upstream.on('end', () => {
      if (!pair.dead) client.end();
    });
    const drop = () => {
      pairs.delete(pair);
      // A live pair passes a close on; a dead one keeps the other side open, as a black hole would.
      if (!pair.dead) {
        client.destroy();
        upstream.destroy();
      }
    };
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.on('close', drop);
    upstream.on('close', () => {
      if (!pair.dead) client.destroy();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const held: Socket[] = [];
  return {
    port,
    get accepted() {
      return accepted;
    },
    get open() {
      return [...pairs].filter((p) => !p.client.destroyed).length;
    },
    retarget(port: number) {
      target = { ...target, port };
    },
    blackhole() {
      let n = 0;
      for (const pair of pairs) {
        if (pair.dead) continue;
        pair.dead = true;
        held.push(pair.upstream);
        n++;
      }
      return n;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
