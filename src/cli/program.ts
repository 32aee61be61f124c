/**
 * The operator CLI's commands, one module each, under one program with the global flags that
 * override the service's environment variables.
 */
import { Command } from 'commander';
import { copyToPostgresCommand } from './copy-to-postgres.ts';
import { failedCommand } from './failed.ts';
import { loadCommand } from './load.ts';
import { reconcileCommand } from './reconcile.ts';
import { releasePrefixCommand } from './release-prefix.ts';
import { requeueCommand } from './requeue.ts';
import { returnsCommand } from './returns.ts';
import { seedCommand } from './seed.ts';
import { showCommand } from './show.ts';
import { webhookAttemptsCommand } from './webhook-attempts.ts';
import { webhookResendCommand } from './webhook-resend.ts';
import { webhooksCommand } from './webhooks.ts';

/**
 * Help is wrapped at this width whatever the terminal, so that it reads the same everywhere and
 * docs/cli.md can quote it verbatim (a test compares the two).
 */
const HELP_WIDTH = 80;

// The order is Session.redisUrl's (context.ts).
const AFTER_HELP = `
Where it finds Redis (failed, requeue, reconcile, release-prefix), the first
that applies:
  1. --redis-url, else REDIS_URL
  2. the URL in redis/redis.url beside the database (data/redis/redis.url by
     default), which \`npm start\` writes while the redis-server it started
     itself runs
  3. redis://127.0.0.1:6379

Exit codes:
  0  done
  1  failed: bad configuration, Redis or the service unreachable, no such
     order or job, orders refused or not at rest after \`load\`
  2  bad usage: unknown command or option, a bad option value, a missing
     argument

Run \`orders <command> --help\` for a command's options. See docs/cli.md.`;

export function buildProgram(): Command {
  const program = new Command('orders')
    .description('Operate the order service: failed jobs, orders, open returns, the reconciler, the demo catalog, load.')
    .configureHelp({ helpWidth: HELP_WIDTH })
    .option(
      '--redis-url <url>',
      'Redis of the service (default: REDIS_URL, else the one `npm start` runs, else redis://127.0.0.1:6379; see below)',
    )
    .option('--database <path>', 'SQLite file of the service (default: DATABASE_PATH, else data/orders.db)')
    .option('--queue-prefix <prefix>', 'queue prefix of the service (default: QUEUE_PREFIX, else orders)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', AFTER_HELP);
  for (const add of [
    failedCommand,
    requeueCommand,
    showCommand,
    returnsCommand,
    reconcileCommand,
    seedCommand,
    loadCommand,
    copyToPostgresCommand,
    releasePrefixCommand,
    webhooksCommand,
    webhookAttemptsCommand,
    webhookResendCommand,
  ])
    add(program);
  return program;
}
