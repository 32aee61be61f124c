/**
 * Whether an order waits on a job that gave up: such a job keeps its deterministic id in the
 * failed set, so re-emitting the event would be dropped anyway. The order waits for an operator
 * to retry that job (Bull Board, the CLI) and the reconciler leaves it alone. An event that may happen
 * more than once per order gets a new job id per outbox row, so its re-drive is never dropped.
 */
import type { OutboxEvent } from '../domain/events.ts';
import type { Queues } from './queues.ts';
import { ROUTES, isRepeatable, jobIdFor } from './routing.ts';

export async function waitsOnFailedJob(queues: Queues, orderId: string, events: readonly OutboxEvent[]): Promise<boolean> {
  for (const event of events) {
    // Named by an outbox row the re-drive does not reuse: a re-driven one is never dropped.
    if (isRepeatable(event)) continue;
    for (const queue of ROUTES[event]) {
      if ((await queues[queue].getJobState(jobIdFor(orderId, event, queue))) === 'failed') return true;
    }
  }
  return false;
}
