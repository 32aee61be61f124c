/**
 * What every processor shares: the parsed job payload, and the processor that runs a queue's jobs
 * by the handler its service declares for each event (queues/routing.ts `Handlers`).
 */
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import type { JobPayload } from '../domain/events.ts';
import type { Handler, Handlers, QueueName } from '../queues/routing.ts';

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
export type Processor = Handler;

/** Runs each job by the handler for its event; a job no handler takes fails at once. */
export function processorOf<Q extends QueueName>(handlers: Handlers<Q>): Processor {
  const byEvent = new Map<string, Handler>(Object.entries(handlers));
  return (job, token) => {
    const handler = byEvent.get(job.name);
    if (!handler) throw new UnrecoverableError(`no handler for ${job.name} on this queue`);
    return handler(job, token);
  };
}
