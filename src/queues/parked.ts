/**
 * Whether an order waits on a job that gave up: such a job keeps its deterministic id in the
 * failed set, so re-emitting the event would be dropped anyway. The order waits for an operator
 * to retry that job (Bull Board, the CLI) and the reconciler leaves it alone.
 */
import type { OutboxEvent } from '../domain/events.ts';
import type { Queues } from './queues.ts';
import { ROUTES, jobIdFor } from './routing.ts';

export async function waitsOnFailedJob(queues: Queues, orderId: string, events: readonly OutboxEvent[]): Promise<boolean> {
  for (const event of events) {
    for (const queue of ROUTES[event]) {
      if ((await queues[queue].getJobState(jobIdFor(orderId, event, queue))) === 'failed') return true;
    }
  }
  return false;
}
