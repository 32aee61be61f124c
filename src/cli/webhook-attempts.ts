/**
 * `orders webhook-attempts`: one webhook delivery and every attempt of it (when, how long, what the
 * receiver answered, what followed), read from the database, so that an operator finds why an
 * integrator's endpoint fails without the service's logs.
 */
import type { Command } from 'commander';
import { printJson, printLines, table } from './output.ts';
import { runWith } from './run.ts';

export function webhookAttemptsCommand(program: Command): void {
  program
    .command('webhook-attempts')
    .description('show a webhook delivery and every attempt of it')
    .argument('<id>', 'the delivery (dlv_…)')
    .option('--json', 'print JSON: {delivery, history: [{number, attemptedAt, durationMs, statusCode, error, outcome}]}')
    .action(
      runWith(async (session, deliveryId: string, options: { json?: boolean }) => {
        const db = await session.db();
        // Loaded when the command runs, not at the CLI's start.
        const [{ attemptsOf, getDeliveryView }, { attemptView, deliveryView }] = await Promise.all([
          import('../db/webhook-deliveries.ts'),
          import('../webhooks/views.ts'),
        ]);
        const delivery = deliveryView(await getDeliveryView(db, deliveryId));
        const history = (await attemptsOf(db, deliveryId)).map(attemptView);
        if (options.json) return printJson({ delivery, history });
        printLines([
          `${delivery.id}: ${delivery.eventType} of ${delivery.orderId} (v${delivery.orderVersion}) to ${delivery.endpointId}, ${delivery.status}` +
            (delivery.nextAttemptAt ? `, next attempt ${delivery.nextAttemptAt}` : ''),
          ...(history.length === 0
            ? ['no attempt yet']
            : table(
                ['#', 'WHEN', 'TOOK', 'ANSWER', 'THEN'],
                history.map((a) => [a.number, a.attemptedAt, `${a.durationMs} ms`, a.error ?? String(a.statusCode), a.outcome]),
              )),
        ]);
      }),
    );
}
