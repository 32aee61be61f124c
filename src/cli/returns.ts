/**
 * `orders returns`: the returns still open (waiting for their goods, or for their refund), oldest
 * first, read straight from the database (no service needs to be running), so that an operator
 * sees what to receive or reject.
 */
import type { Command } from 'commander';
import { CliError, EXIT } from './context.ts';
import { printJson, printLines, table } from './output.ts';
import { runWith } from './run.ts';

const DEFAULT_LIMIT = 100;

export function returnsCommand(program: Command): void {
  program
    .command('returns')
    .description('list the open returns (REQUESTED or RECEIVED), oldest first')
    .option('--limit <n>', `at most this many (default ${DEFAULT_LIMIT})`)
    .option('--json', 'print JSON: {returns}, the shape of GET /admin/returns')
    .action(
      runWith(async (session, options: { limit?: string; json?: boolean }) => {
        const limit = options.limit === undefined ? DEFAULT_LIMIT : Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
          throw new CliError('--limit must be a whole number from 1 to 10000', EXIT.usage);
        }
        // Loaded when the command runs: the CLI starts without the database's modules.
        const [{ listOpenReturns }, { returnView }] = await Promise.all([import('../db/returns.ts'), import('../views.ts')]);
        const returns = (await listOpenReturns(await session.db(), limit)).map(returnView);
        if (options.json) return printJson({ returns });
        if (returns.length === 0) return printLines(['No open return.']);
        printLines(
          table(
            ['RETURN', 'ORDER', 'STATUS', 'ITEMS', 'OPENED', 'REASON'],
            returns.map((r) => [
              r.id,
              r.orderId,
              r.status,
              r.items.map((i) => `${i.quantity}x${i.sku}`).join(','),
              r.createdAt,
              r.reason,
            ]),
          ),
        );
      }),
    );
}
