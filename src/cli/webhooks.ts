/**
 * `orders webhooks`: the webhook endpoints with how their deliveries stand (pending, given up,
 * the oldest still owed) and why a disabled one was, so that an operator sees at a glance which
 * integrator is not getting its events.
 */
import type { Command } from 'commander';
import { printJson, printLines, table } from './output.ts';
import { runWith } from './run.ts';

export function webhooksCommand(program: Command): void {
  program
    .command('webhooks')
    .description('list webhook endpoints: enabled or why not, pending and given-up deliveries')
    .option('--json', 'print JSON: {endpoints: [{id, url, enabled, disabledReason, pending, givenUp}]}')
    .action(
      runWith(async (session, options: { json?: boolean }) => {
        const db = await session.db();
        // Loaded when the command runs, not at the CLI's start.
        const [{ listEndpoints }, { deliveryCounts }] = await Promise.all([
          import('../db/webhook-endpoints.ts'),
          import('../db/webhook-deliveries.ts'),
        ]);
        const counts = await deliveryCounts(db);
        const endpoints = (await listEndpoints(db)).map((e) => ({
          id: e.id,
          url: e.url,
          events: e.events,
          enabled: e.enabled,
          disabledReason: e.disabledReason,
          pending: counts.get(e.id)?.PENDING ?? 0,
          givenUp: counts.get(e.id)?.GIVEN_UP ?? 0,
          delivered: counts.get(e.id)?.DELIVERED ?? 0,
        }));
        if (options.json) return printJson({ endpoints });
        if (endpoints.length === 0) return printLines(['no webhook endpoint is registered']);
        printLines(
          table(
            ['ENDPOINT', 'URL', 'STATE', 'DELIVERED', 'PENDING', 'GIVEN UP'],
            endpoints.map((e) => [
              e.id,
              e.url,
              e.enabled ? 'enabled' : `disabled (${e.disabledReason ?? 'by an operator'})`,
              e.delivered,
              e.pending,
              e.givenUp,
            ]),
          ),
        );
      }),
    );
}
