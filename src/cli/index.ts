/**
 * Entry point of the operator CLI (`npm run cli -- …`, or the `orders` bin). Turns every way a
 * run can end into an exit code: 0 done, 1 an operational failure (one line on stderr), 2 bad
 * usage (commander's message and a hint).
 */
import { CommanderError } from 'commander';
import { escapeUnsafe } from '../domain/text.ts';
import { CliError, EXIT } from './context.ts';
import { buildProgram } from './program.ts';

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Errors come back here instead of exiting, so that usage errors get their own code.
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof CliError) {
      process.stderr.write(`orders: ${escapeUnsafe(error.message)}\n`);
      return error.exitCode;
    }
    process.stderr.write(`orders: unexpected error: ${(error as Error).stack ?? error}\n`);
    return EXIT.failure;
  }
}

process.exitCode = await main(process.argv);
// Everything is closed by now; should a handle linger, do not let it hold the shell.
setTimeout(() => process.exit(), 1_000).unref();
