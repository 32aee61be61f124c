/**
 * What every processor shares: the parsed job payload and the processor's signature.
 */
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import type { JobPayload } from '../domain/events.ts';

const JobPayloadSchema = z.object({
  orderId: z.string().min(1),
  outboxId: z.number().int(),
});

/** A payload that does not parse will never parse: fail it at once rather than retry. */
export function parsePayload(job: Job): JobPayload {
  const parsed = JobPayloadSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`malformed job data: ${parsed.error.message}`);
  return parsed.data;
}

/** A processor answers what it did, in a word or two, for the logs and the dashboard. */
export type Processor = (job: Job<JobPayload>, token?: string) => Promise<string>;

export function unknownJob(job: Job): never {
  throw new UnrecoverableError(`no handler for ${job.name} on this queue`);
}
