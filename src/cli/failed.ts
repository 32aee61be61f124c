/**
 * `orders failed`: the jobs that gave up, per queue, with the order they were for, why they
 * failed, how many attempts they made and how long ago.
 */
import type { Command } from 'commander';
import { failedJobs, type FailedJob } from '../queues/job-actions.ts';
import type { Queues } from '../queues/queues.ts';
import { QUEUE_NAMES, type QueueName } from '../queues/routing.ts';
import { clip, humanDuration, printJson, printLines, table } from './output.ts';
import { positiveInt, queueOption, runWith } from './run.ts';

/** A failed job as `--json` prints it (docs/cli.md). */
export type FailedJobLine = Omit<FailedJob, 'failedAt'> & {
  /** ISO 8601. */
  failedAt: string | null;
  ageMs: number | null;
};

async function listFailed(queues: Queues, names: readonly QueueName[], limit: number, now = Date.now()) {
  const { counts, jobs } = await failedJobs(queues, names, limit);
  return {
    counts,
    jobs: jobs.map(
      ({ failedAt, ...job }): FailedJobLine => ({
        ...job,
        failedAt: failedAt ? new Date(failedAt).toISOString() : null,
        ageMs: failedAt ? Math.max(0, now - failedAt) : null,
      }),
    ),
  };
}

export function failedCommand(program: Command): void {
  program
    .command('failed')
    .description('list the failed jobs of every queue (or of one), newest first')
    .addOption(queueOption('only this queue'))
    .option('-n, --limit <count>', 'at most this many jobs per queue', positiveInt, 50)
    .option('--json', 'print JSON: {counts, jobs: [{queue, id, orderId, event, reason, attempts, failedAt, ageMs}]}')
    .action(
      runWith(async (session, options: { queue?: QueueName; limit: number; json?: boolean }) => {
        const names = options.queue ? [options.queue] : QUEUE_NAMES;
        const result = await listFailed(await session.queues(), names, options.limit);
        if (options.json) return printJson(result);
        const total = Object.values(result.counts).reduce((a, b) => a + b, 0);
        const summary = names.map((n) => `${n} ${result.counts[n]}`).join(', ');
        if (total === 0) return printLines([`no failed jobs (${summary})`]);
        printLines([
          `${total} failed job${total === 1 ? '' : 's'} (${summary})`,
          '',
          ...table(
            ['QUEUE', 'JOB', 'ORDER', 'ATTEMPTS', 'AGE', 'REASON'],
            result.jobs.map((j) => [
              j.queue,
              j.id,
              j.orderId ?? '-',
              j.attempts,
              j.ageMs === null ? '-' : humanDuration(j.ageMs),
              clip(j.reason),
            ]),
          ),
        ]);
      }),
    );
}
