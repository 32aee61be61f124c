/**
 * The HTTP connection as a client's pool sees it: a refusal that closes the connection says so
 * (`Connection: close`), so that the pool's next request goes out on a new one; and one client
 * address can hold only so many connections at once (MAX_CONNECTIONS_PER_ADDRESS), so that one
 * client cannot take every socket the process has.
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientHeaders } from '../src/cli/http-client.ts';
import { API_KEY, Harness, orderBody } from './support/harness.ts';

const CAP = 8;
let h: Harness;

beforeAll(async () => {
  h = await Harness.start({ queues: [], env: { MAX_CONNECTIONS_PER_ADDRESS: String(CAP) } });
  await h.putProduct('SKU-1', 10);
});

afterAll(async () => {
  await h?.stop();
});

/** One request through `agent`: its status and headers. */
function send(agent: Agent, path: string, body?: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${h.base}${path}`,
      {
        agent,
        method: body === undefined ? 'GET' : 'POST',
        headers: clientHeaders(API_KEY, body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP connections', () => {
  it('answers a body over the limit with 413 and Connection: close, and a pooled client’s next request works', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = JSON.stringify({ ...orderBody(), customerId: 'x'.repeat(70 * 1024) });
      const refused = await send(agent, '/orders', big);
      expect(refused.status).toBe(413);
      expect(refused.headers.connection).toBe('close');
      // The next requests on the same pool find a live connection.
      for (let i = 0; i < 3; i++) expect((await send(agent, '/orders', JSON.stringify(orderBody()))).status).toBe(201);
    } finally {
      agent.destroy();
    }
  });

  it('closes connections from one address beyond MAX_CONNECTIONS_PER_ADDRESS, and takes new ones once some close', async () => {
    const { port } = new URL(h.base);
    const open = async (): Promise<Socket> => {
      const socket = connect({ host: '127.0.0.1', port: Number(port) });
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      return socket;
    };
    const sockets: Socket[] = [];
    for (let i = 0; i < CAP + 4; i++) sockets.push(await open());
    // The ones over the cap are closed by the server, without a request having been read.
    // (The test's own client may hold a pooled connection or two from the same address.)
    const deadline = Date.now() + 10_000;
    const closed = () => sockets.filter((s) => s.destroyed || s.readableEnded).length;
    while (closed() < 4 && Date.now() < deadline) await sleep(50);
    await sleep(300);
    expect(closed()).toBeGreaterThanOrEqual(4);
    expect(sockets.length - closed()).toBeLessThanOrEqual(CAP);
    expect(sockets.length - closed()).toBeGreaterThanOrEqual(CAP - 2);
    // Another address (127.0.0.2 is another client to the socket) is not affected.
    const agent = new Agent({ keepAlive: false });
    const other = await new Promise<number>((resolve, reject) => {
      const req = request(`${h.base}/healthz`, { agent, localAddress: '127.0.0.2' }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    expect(other).toBe(200);
    for (const s of sockets) s.destroy();
    await sleep(200);
    // Once they closed, the same address is served again.
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
    agent.destroy();
  });
});
