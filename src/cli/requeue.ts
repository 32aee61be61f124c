/**
 * `orders requeue`: moves failed jobs back to their queue with a fresh set of attempts, once the
 * cause is fixed. One job by id, every failed job of one queue, or of every queue. Processors
 * check the order's state before acting, so requeueing a job whose work was done since is safe.
 */
import type { Command } from 'commander';
import type { Queues } from '../queues/queues.ts';
import { QUEUE_NAMES, type QueueName } from '../queues/routing.ts';
import { CliError, UsageError } from './context.ts';
import { printJson, printLines } from './output.ts';
import { queueOption, runWith } from './run.ts';

export interface RequeueResult {
  requeued: number;
  byQueue: Partial<Record<QueueName, number>>;
  jobs: { queue: QueueName; id: string; orderId: string | null }[];
}

const RETRY = { resetAttemptsMade: true, resetAttemptsStarted: true };

/** Requeues one failed job, looked for in `names`. */
async function requeueOne(queues: Queues, names: readonly QueueName[], jobId: string): Promise<RequeueResult> {
  const found = [];
  for (const name of names) {
    const job = await queues[name].getJob(jobId);
    if (job) found.push({ name, job, state: await job.getState() });
  }
  const failed = found.filter((f) => f.state === 'failed');
  if (failed.length === 0) {
    if (found.length === 0) throw new CliError(`no job ${jobId} in ${names.length === 1 ? `queue ${names[0]}` : 'any queue'}`);
    throw new CliError(`job ${jobId} is not failed: ${found.map((f) => `${f.state} in ${f.name}`).join(', ')}`);
  }
  if (failed.length > 1) {
    throw new UsageError(`job ${jobId} is failed in ${failed.map((f) => f.name).join(' and ')}: name one with --queue`);
  }
  const { name, job } = failed[0]!;
  await job.retry('failed', RETRY);
  return { requeued: 1, byQueue: { [name]: 1 }, jobs: [{ queue: name, id: jobId, orderId: orderIdOf(job.data) }] };
}

/**
 * Requeues every job failed now. The ids are read first, so that a job that fails again at once
 * is not picked up a second time; a job another operator moved meanwhile is skipped.
 */
async function requeueAll(queues: Queues, names: readonly QueueName[]): Promise<RequeueResult> {
  const result: RequeueResult = { requeued: 0, byQueue: {}, jobs: [] };
  for (const name of names) {
    const queue = queues[name];
    let moved = 0;
    for (const id of await queue.getRanges(['failed'], 0, -1)) {
      const job = await queue.getJob(id);
      if (!job) continue;
      try {
        await job.retry('failed', RETRY);
      } catch {
        continue; // no longer failed: requeued or removed by someone else
      }
      moved++;
      result.jobs.push({ queue: name, id, orderId: orderIdOf(job.data) });
    }
    result.byQueue[name] = moved;
    result.requeued += moved;
  }
  return result;
}

function orderIdOf(data: unknown): string | null {
  const orderId = (data as { orderId?: unknown } | undefined)?.orderId;
  return typeof orderId === 'string' ? orderId : null;
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
        const result = jobId !== undefined ? await requeueOne(queues, names, jobId) : await requeueAll(queues, names);
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
