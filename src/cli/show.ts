/**
 * `orders show <orderId>`: an order as the API shows it, with its timeline, read straight from
 * the database (no service needs to be running).
 */
import type { Command } from 'commander';
import type { Db } from '../db/client.ts';
import { CliError } from './context.ts';
import { clip, printJson, printLines, table } from './output.ts';
import { runWith } from './run.ts';

async function orderWithTimeline(db: Db, orderId: string) {
  // Loaded when the command runs: the CLI starts without the database's modules.
  const [{ getOrder, getTimeline }, { NotFoundError }, { eventView, orderView }] = await Promise.all([
    import('../db/orders.ts'),
    import('../domain/errors.ts'),
    import('../views.ts'),
  ]);
  try {
    return { order: orderView(await getOrder(db, orderId)), events: (await getTimeline(db, orderId)).map(eventView) };
  } catch (error) {
    if (error instanceof NotFoundError) throw new CliError(`no order ${orderId}`);
    throw error;
  }
}

const money = (cents: number, currency: string) => `${(cents / 100).toFixed(2)} ${currency}`;

export function showCommand(program: Command): void {
  program
    .command('show')
    .description('show an order and its timeline (exits 1 if there is no such order)')
    .argument('<orderId>', 'the order id, e.g. ord_01J...')
    .option('--json', 'print JSON: {order, events}, the shapes of GET /orders/{id} and /orders/{id}/events')
    .action(
      runWith(async (session, orderId: string, options: { json?: boolean }) => {
        const { order, events } = await orderWithTimeline(await session.db(), orderId);
        if (options.json) return printJson({ order, events });
        printLines([
          ...table(
            ['ORDER', order.id],
            [
              ['status', order.status],
              ['reason', order.reason ?? '-'],
              ['customer', order.customerId],
              ['total', money(order.totalCents, order.currency)],
              ['payment', order.payment.status],
              ['shipment', order.shipment?.trackingNumber ?? '-'],
              ['created', order.createdAt],
              ['updated', order.updatedAt],
            ],
          ),
          '',
          ...table(
            ['SKU', 'QUANTITY', 'UNIT PRICE'],
            order.items.map((i) => [i.sku, i.quantity, money(i.unitPriceCents, order.currency)]),
          ),
          '',
          ...table(
            ['AT', 'EVENT', 'FROM', 'TO', 'DATA'],
            events.map((e) => [e.at, e.type, e.from ?? '-', e.to, clip(JSON.stringify(e.data), 80)]),
          ),
        ]);
      }),
    );
}
