/**
 * `orders webhook-resend`: sends one webhook delivery again (`<delivery-id>`), or everything given
 * up for an endpoint (`--endpoint <id>`), with the same `webhook-id` and a fresh retry window.
 * Written to the database with an outbox row, as the admin API and the console do: the running
 * service's relay hands it to the delivery queue within RELAY_SWEEP_MS, Redis or not right now.
 */
import type { Command } from 'commander';
import { CliError, UsageError } from './context.ts';
import { printJson, printLines } from './output.ts';
import { runWith } from './run.ts';

export function webhookResendCommand(program: Command): void {
  program
    .command('webhook-resend')
    .description('send a webhook delivery again, or everything given up for an endpoint')
    .argument('[id]', 'the delivery to send again (dlv_…)')
    .option('--endpoint <id>', 'send again every delivery given up for this endpoint (we_…)')
    .option('--json', 'print JSON: {resent}')
    .action(
      runWith(async (session, deliveryId: string | undefined, options: { endpoint?: string; json?: boolean }) => {
        if ((deliveryId === undefined) === (options.endpoint === undefined)) {
          throw new UsageError('name one delivery, or an endpoint with --endpoint');
        }
        const db = await session.db();
        const [{ resendDelivery, resendGivenUp }, { findEndpoint }] = await Promise.all([
          import('../db/webhook-deliveries.ts'),
          import('../db/webhook-endpoints.ts'),
        ]);
        let resent: number;
        if (deliveryId !== undefined) {
          await resendDelivery(db, deliveryId, Date.now());
          resent = 1;
        } else {
          if (!(await findEndpoint(db, options.endpoint!)))
            throw new CliError(`no webhook endpoint has the id ${options.endpoint}`);
          resent = await resendGivenUp(db, options.endpoint!, Date.now());
        }
        if (options.json) return printJson({ resent });
        printLines([
          resent === 0
            ? 'nothing to resend: no delivery of that endpoint was given up'
            : `${resent} deliver${resent === 1 ? 'y is' : 'ies are'} pending again; the service sends ${resent === 1 ? 'it' : 'them'} shortly`,
        ]);
      }),
    );
}
