/**
 * Runs the operator CLI as a real child process (`src/cli/index.ts` under tsx), as an operator
 * would, with only the environment the test gives it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Harness } from './harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed, for --json runs. */
  json: any;
}

export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, json };
}

/** The environment that points the CLI at a harness's database, queues and Redis. */
export function cliEnv(h: Harness, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_PATH: h.config.store.databasePath,
    ...(h.config.store.databaseUrl ? { DATABASE_URL: h.config.store.databaseUrl } : {}),
    QUEUE_PREFIX: h.config.jobs.queuePrefix,
    REDIS_URL: h.redisUrl,
    ...extra,
  };
}
