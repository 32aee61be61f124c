/**
 * `orders release-prefix`: releases a stale claim on the queue prefix, the one a deployment that
 * is gone left behind (its database deleted, or on a host that no longer runs it), so that a new
 * database may use the prefix without waiting for the claim to lapse. A prefix with workers
 * connected belongs to a live deployment and is not released without --force.
 */
import type { Command } from 'commander';
import { readClaim, releaseClaim } from '../queues/prefix-claim.ts';
import { liveWorkers } from '../queues/live-workers.ts';
import { CliError } from './context.ts';
import { printJson, printLines } from './output.ts';
import { runWith } from './run.ts';

export function releasePrefixCommand(program: Command): void {
  program
    .command('release-prefix')
    .description("release the queue prefix's claim left by a deployment that is gone")
    .option('--force', 'release it even while workers are connected on the prefix')
    .option('--json', 'print JSON: {queuePrefix, released, heldBy}')
    .action(
      runWith(async (session, options: { force?: boolean; json?: boolean }) => {
        const prefix = session.config.jobs.queuePrefix;
        const redis = await session.redisConnection();
        const claim = await readClaim(redis, prefix);
        if (!claim) {
          if (options.json) return printJson({ queuePrefix: prefix, released: false, heldBy: null });
          return printLines([`QUEUE_PREFIX=${prefix} is not claimed: nothing to release`]);
        }
        const holder = `${claim.by.location} on ${claim.by.host}, id ${claim.by.database}`;
        const workers = await liveWorkers(await session.queues());
        const busy = Object.entries(workers).map(([queue, n]) => `${queue} ${n}`);
        if (busy.length > 0 && !options.force) {
          throw new CliError(
            `QUEUE_PREFIX=${prefix} is held by ${holder} and workers are connected on it (${busy.join(', ')}): ` +
              'that deployment is alive; stop it first, or pass --force',
          );
        }
        if (!(await releaseClaim(redis, prefix, claim.raw))) {
          throw new CliError(
            `QUEUE_PREFIX=${prefix}'s claim changed while releasing it: its holder is alive; run again to see it`,
          );
        }
        if (options.json) return printJson({ queuePrefix: prefix, released: true, heldBy: claim.by });
        printLines([
          `released QUEUE_PREFIX=${prefix}, held by ${holder}`,
          'a process of that deployment still running claims it again within 5 s',
        ]);
      }),
    );
}
