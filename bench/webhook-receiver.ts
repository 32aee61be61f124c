/**
 * The far end of the service's outbound webhooks in the `--webhooks` runs: a plain HTTP server in
 * the benchmark's process that answers every POST with 204 at once and counts them, verifying
 * nothing (the tests check signatures and contents; the benchmark only wants the service to pay for
 * delivering). Its CPU is the benchmark's own, reported with the load generator's, outside the
 * service's cost. Also the subscription of endpoints through the admin API.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WEBHOOK_EVENT_TYPES } from '../src/domain/webhook-events.ts';
import { ADMIN_TOKEN } from './processes.ts';

export interface WebhookReceiver {
  url: string;
  /** Requests received so far. */
  requests(): number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Registers `count` endpoints on the service at `serviceUrl`, each subscribed to every event type. */
export async function subscribeEndpoints(serviceUrl: string, receiverUrl: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const response = await fetch(`${serviceUrl}/admin/webhook-endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiverUrl}/hooks/${i}`, events: WEBHOOK_EVENT_TYPES, description: `bench ${i}` }),
    });
    if (response.status !== 201) throw new Error(`POST /admin/webhook-endpoints: ${response.status} ${await response.text()}`);
  }
}
