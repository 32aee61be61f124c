/**
 * The operator CLI's commands, one module each, under one program with the global flags that
 * override the service's environment variables.
 */
import { Command } from 'commander';
import { failedCommand } from './failed.ts';
import { loadCommand } from './load.ts';
import { reconcileCommand } from './reconcile.ts';
import { requeueCommand } from './requeue.ts';
import { seedCommand } from './seed.ts';
import { showCommand } from './show.ts';

export function buildProgram(): Command {
  const program = new Command('orders')
    .description('Operate the order service: failed jobs, orders, the reconciler, the demo catalog, load.')
    .option('--redis-url <url>', 'Redis of the service (default: REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--database <path>', 'SQLite file of the service (default: DATABASE_PATH, else data/orders.db)')
    .option('--queue-prefix <prefix>', 'queue prefix of the service (default: QUEUE_PREFIX, else orders)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 failed (Redis or the service unreachable, no such order or job, ...), 2 bad usage.\nSee docs/cli.md.',
    );
  for (const add of [failedCommand, requeueCommand, showCommand, reconcileCommand, seedCommand, loadCommand]) add(program);
  return program;
}
