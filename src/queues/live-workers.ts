/**
 * Whether any process of a deployment is alive on a queue prefix: BullMQ names each worker's
 * connection after its queue and prefix, so CLIENT LIST tells who is working there.
 */
import type { Queues } from './queues.ts';
import type { QueueName } from './routing.ts';

/** How many workers are connected per queue of the prefix, for the queues that have any. */
export async function liveWorkers(queues: Queues): Promise<Partial<Record<QueueName, number>>> {
  const found: Partial<Record<QueueName, number>> = {};
  for (const [name, queue] of Object.entries(queues) as [QueueName, Queues[QueueName]][]) {
    const count = await queue.getWorkersCount();
    if (count > 0) found[name] = count;
  }
  return found;
}
