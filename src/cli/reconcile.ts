/**
 * `orders reconcile`: one reconciler pass, as the workers run it every RECONCILE_INTERVAL_MS,
 * then the outbox relay moves what it wrote (and anything else waiting) into the queues, so that
 * the re-driven orders move as soon as a worker is up.
 */
import type { Command } from 'commander';
import { reconcileOnce } from '../db/reconcile.ts';
import { createLogger } from '../logger.ts';
import { OutboxRelay } from '../queues/relay.ts';
import { CliError, safeUrl } from './context.ts';
import { printJson, printLines, table } from './output.ts';
import { positiveInt, runWith } from './run.ts';

export function reconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description('re-drive orders that stopped moving (one reconciler pass), then dispatch the outbox')
    .option('--stuck-after <ms>', 'an order still for this long is stuck (default: STUCK_AFTER_MS)', positiveInt)
    .option('--json', 'print JSON: {redriven: [{orderId, status, events}], dispatched}')
    .action(
      runWith(async (session, options: { stuckAfter?: number; json?: boolean }) => {
        const db = session.db();
        const stuckAfterMs = options.stuckAfter ?? session.config.stuckAfterMs;
        const redriven = reconcileOnce(db, { now: Date.now(), stuckAfterMs });
        try {
          const relay = new OutboxRelay(db, await session.queues(), createLogger('silent'), { sweepMs: session.config.relaySweepMs });
          await relay.flush();
        } catch (error) {
          const cause = error instanceof CliError ? error.message : `cannot dispatch to ${safeUrl(session.redisUrl)}: ${(error as Error).message}`;
          throw new CliError(`re-drove ${redriven.length} orders, but their events wait in the outbox (${cause})`);
        }
        if (options.json) return printJson({ redriven, dispatched: true });
        if (redriven.length === 0) return printLines(['nothing to re-drive: no order has been still for longer than ' + `${stuckAfterMs} ms`]);
        printLines([
          `re-drove ${redriven.length} order${redriven.length === 1 ? '' : 's'}; events dispatched`,
          '',
          ...table(['ORDER', 'STATUS', 'EVENTS'], redriven.map((r) => [r.orderId, r.status, r.events.join(', ')])),
        ]);
      }),
    );
}
