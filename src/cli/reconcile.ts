/**
 * `orders reconcile`: one reconciler pass, as the workers run it every RECONCILE_INTERVAL_MS (an
 * order parked on a failed job is left alone: requeue that job instead),
 * then the outbox relay moves what it wrote (and anything else waiting) into the queues, so that
 * the re-driven orders move as soon as a worker is up.
 */
import type { Command } from 'commander';
import { waitsOnFailedJob } from '../queues/parked.ts';
import { safeUrl } from '../queues/connection.ts';
import { readClaim } from '../queues/prefix-claim.ts';
import { CliError, type Session } from './context.ts';
import { printJson, printLines, table } from './output.ts';
import { positiveInt, runWith } from './run.ts';

/**
 * The running service's STUCK_AFTER_MS, as its processes publish it with their claim on the queue
 * prefix: the CLI's own environment may not be the service's. Only a claim of this database counts.
 */
async function servicesStuckAfter(session: Session): Promise<number | undefined> {
  try {
    const claim = await readClaim(await session.redisConnection(), session.config.jobs.queuePrefix);
    const { databaseIdentity } = await import('../db/service-meta.ts');
    if (!claim || claim.by.database !== (await databaseIdentity(await session.db()))) return undefined;
    return claim.by.stuckAfterMs;
  } catch {
    return undefined;
  }
}

export function reconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description('re-drive orders that stopped moving (one reconciler pass), then dispatch the outbox')
    .option(
      '--stuck-after <ms>',
      "an order still for this long is stuck (default: the running service's STUCK_AFTER_MS, else this environment's)",
      positiveInt,
    )
    .option('--json', 'print JSON: {redriven: [{orderId, status, events}], dispatched}')
    .action(
      runWith(async (session, options: { stuckAfter?: number; json?: boolean }) => {
        const db = await session.db();
        // Without Redis, orders parked on a failed job cannot be told apart: re-drive them all and
        // report that the events wait in the outbox.
        const queues = await session.queues().catch((error: unknown) => error as Error);
        const stuckAfterMs =
          options.stuckAfter ??
          (queues instanceof Error ? undefined : await servicesStuckAfter(session)) ??
          session.config.jobs.stuckAfterMs;
        // Loaded when the command runs, not at the CLI's start.
        const [{ createLogger }, { Reconciler }, { OutboxRelay }] = await Promise.all([
          import('../logger.ts'),
          import('../processors/reconciler.ts'),
          import('../relay.ts'),
        ]);
        const reconciler = new Reconciler(db, createLogger('silent'), {
          intervalMs: session.config.jobs.reconcileIntervalMs,
          stuckAfterMs,
          isParked: queues instanceof Error ? undefined : (order) => waitsOnFailedJob(queues, order.orderId, order.events),
          actor: 'cli',
        });
        const redriven = await reconciler.runOnce();
        try {
          if (queues instanceof Error) throw queues;
          const relay = new OutboxRelay(db, queues, createLogger('silent'), { sweepMs: session.config.outbox.relaySweepMs });
          await relay.flush();
        } catch (error) {
          const cause =
            error instanceof CliError
              ? error.message
              : `cannot dispatch to ${safeUrl(session.redisUrl)}: ${(error as Error).message}`;
          throw new CliError(`re-drove ${redriven.length} orders, but their events wait in the outbox (${cause})`);
        }
        if (options.json) return printJson({ redriven, dispatched: true });
        if (redriven.length === 0)
          return printLines([`nothing to re-drive: no order has been still for longer than ${stuckAfterMs} ms`]);
        printLines([
          `re-drove ${redriven.length} order${redriven.length === 1 ? '' : 's'}; events dispatched`,
          '',
          ...table(
            ['ORDER', 'STATUS', 'EVENTS'],
            redriven.map((r) => [r.orderId, r.status, r.events.join(', ')]),
          ),
        ]);
      }),
    );
}
