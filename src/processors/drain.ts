/**
 * Stopping workers within a grace period: active jobs may finish for up to `graceMs`; a job still
 * running after that is left to its lock (once it expires, BullMQ hands the job to another worker,
 * whose state check makes the rerun safe). The log says which of those happened.
 */
import type { Logger } from 'pino';

/** How long stopping workers with no job running waits for their connections to close. */
const IDLE_CLOSE_WAIT_MS = 1_000;

export async function drainWithin(
  graceMs: number,
  workers: { active(): number; close(): Promise<void> },
  logger: Logger,
): Promise<void> {
  const running = workers.active();
  logger.info(
    { graceMs, activeJobs: running },
    running > 0 ? 'stopping workers: no new jobs, waiting for active ones' : 'stopping workers: no job running',
  );
  let timer: NodeJS.Timeout | undefined;
  const closed = workers.close().then(() => true);
  // Wait the grace period while jobs run; with none running, a close that does not come quickly
  // waits on an unreachable Redis, and waiting longer would change nothing.
  const started = Date.now();
  const timedOut = new Promise<boolean>((resolve) => {
    const tick = () => {
      const waited = Date.now() - started;
      if (waited >= graceMs || (workers.active() === 0 && waited >= IDLE_CLOSE_WAIT_MS)) resolve(false);
      else timer = setTimeout(tick, 100);
    };
    timer = setTimeout(tick, 100);
  });
  const drained = await Promise.race([closed, timedOut]);
  clearTimeout(timer);
  const left = workers.active();
  if (drained) logger.info({ finished: running }, running > 0 ? 'workers stopped; active jobs finished' : 'workers stopped');
  else if (left > 0) {
    logger.warn(
      { graceMs, activeJobs: left },
      'active jobs did not finish in the grace period; another worker will run them once their lock expires',
    );
  } else {
    logger.warn(
      { graceMs },
      'workers stopped without a job running, but could not close their Redis connections in the grace period (Redis unreachable?)',
    );
  }
}
