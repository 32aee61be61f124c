/**
 * `orders requeue`: moves failed jobs back to their queue with a fresh set of attempts, once the
 * cause is fixed. One job by id, every failed job of one queue, or of every queue. Processors
 * check the order's state before acting, so requeueing a job whose work was done since is safe.
 */
import type { Command } from 'commander';
import { requeueAllFailed, requeueJob, type RequeueAllResult } from '../queues/job-actions.ts';
import type { Queues } from '../queues/queues.ts';
import { QUEUE_NAMES, type QueueName } from '../queues/routing.ts';
import { CliError, UsageError } from './context.ts';
import { printJson, printLines } from './output.ts';
import { queueOption, runWith } from './run.ts';

/** Requeues one failed job, looked for in `names`; anything else is the operator's to hear. */
async function requeueOne(queues: Queues, names: readonly QueueName[], jobId: string): Promise<RequeueAllResult> {
  const result = await requeueJob(queues, names, jobId);
  switch (result.outcome) {
    case 'absent':
      throw new CliError(`no job ${jobId} in ${names.length === 1 ? `queue ${names[0]}` : 'any queue'}`);
    case 'not-failed':
      throw new CliError(`job ${jobId} is not failed: ${result.states.map((f) => `${f.state} in ${f.queue}`).join(', ')}`);
    case 'ambiguous':
      throw new UsageError(`job ${jobId} is failed in ${result.queues.join(' and ')}: name one with --queue`);
    case 'requeued':
      return { requeued: 1, byQueue: { [result.job.queue]: 1 }, jobs: [result.job] };
  }
}

export function requeueCommand(program: Command): void {
  program
    .command('requeue')
    .description('move failed jobs back to their queue with fresh attempts: one job by id, or --all')
    .argument('[jobId]', 'the failed job to requeue (as `orders failed` shows it)')
    .addOption(queueOption('look in this queue only; with --all, requeue this queue only'))
    .option('-a, --all', 'requeue every failed job (of --queue, or of every queue)')
    .option('--json', 'print JSON: {requeued, byQueue, jobs: [{queue, id, orderId}]}')
    .addHelpText(
      'after',
      '\nExamples:\n  orders requeue ord_01J...-InventoryReserved-shipping\n  orders requeue --queue shipping --all\n  orders requeue --all',
    )
    .action(
      runWith(async (session, jobId: string | undefined, options: { queue?: QueueName; all?: boolean; json?: boolean }) => {
        if (jobId !== undefined && options.all) throw new UsageError('name a job id or pass --all, not both');
        if (jobId === undefined && !options.all) throw new UsageError('name a job id, or pass --all to requeue every failed job');
        const names = options.queue ? [options.queue] : QUEUE_NAMES;
        const queues = await session.queues();
        const result = jobId !== undefined ? await requeueOne(queues, names, jobId) : await requeueAllFailed(queues, names);
        // On each order's timeline: the CLI requeued this job.
        const at = Date.now();
        const records = result.jobs.flatMap((job) =>
          job.orderId
            ? [{ orderId: job.orderId, action: 'requeue' as const, actor: 'cli', jobId: job.id, outcome: 'requeued', at }]
            : [],
        );
        if (records.length > 0) {
          const { recordOperatorActions } = await import('../db/operator-actions.ts');
          await recordOperatorActions(await session.db(), records).catch((error: Error) =>
            process.stderr.write(`requeued, but not recorded on the orders' timelines: ${error.message}\n`),
          );
        }
        if (options.json) return printJson(result);
        const per = Object.entries(result.byQueue)
          .filter(([, n]) => n > 0)
          .map(([q, n]) => `${q} ${n}`)
          .join(', ');
        printLines([`requeued ${result.requeued} failed job${result.requeued === 1 ? '' : 's'}${per ? ` (${per})` : ''}`]);
      }),
    );
}
