/**
 * Delivers jobs twice on purpose: adds a copy, under a new id, of every job the queues hold.
 */
import type { Queue } from 'bullmq';

/** Adds a copy of every job the queues have seen (waiting, delayed, active or done), once. */
export async function duplicateJobs(queues: Queue[], suffix: string, seen: Set<string>): Promise<number> {
  let added = 0;
  for (const queue of queues) {
    const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']);
    for (const job of jobs) {
      if (!job?.id || job.id.includes('-copy') || seen.has(`${queue.name}/${job.id}`)) continue;
      seen.add(`${queue.name}/${job.id}`);
      await queue.add(job.name, job.data, { jobId: `${job.id}-copy${suffix}` });
      added++;
    }
  }
  return added;
}
