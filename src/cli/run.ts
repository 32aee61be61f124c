/**
 * The glue between commander and a command's work: each action gets a Session built from the
 * global flags and the environment, and the session is closed however the action ends.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { NotFoundError } from '../domain/errors.ts';
import { QUEUE_NAMES } from '../queues/routing.ts';
import { CliError, Session, cliConfig, type GlobalOptions } from './context.ts';

type Action<A extends unknown[]> = (session: Session, ...args: A) => Promise<void> | void;

/**
 * Wraps a command's work as a commander action: (...arguments, options, command). Something the
 * command was asked about that does not exist (a NotFoundError of the store) ends it with its
 * message and exit code 1.
 */
export function runWith<A extends unknown[]>(work: Action<A>): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const command = args.at(-1) as Command;
    const session = new Session(cliConfig(command.optsWithGlobals<GlobalOptions>()));
    try {
      await work(session, ...(args.slice(0, -1) as A));
    } catch (error) {
      if (error instanceof NotFoundError) throw new CliError(error.message);
      throw error;
    } finally {
      await session.close();
    }
  };
}

export function queueOption(description: string): Option {
  return new Option('-q, --queue <name>', description).choices(QUEUE_NAMES);
}

/** A whole number of at least 1, written as digits: "abc", "-1", "0", "1.5" and "1e3" are refused. */
export function positiveInt(value: string): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('It must be a whole number of at least 1.');
  return n;
}

/** An http:// or https:// URL. */
export function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('It must be an http:// or https:// URL, e.g. http://127.0.0.1:3000.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('It must be an http:// or https:// URL, e.g. http://127.0.0.1:3000.');
  }
  return value;
}
