/**
 * An outbox row as the relay takes it: its own module, so that the connection (which keeps the
 * rows its transactions committed) and the outbox module need nothing of each other.
 */
import type { OutboxEvent } from '../domain/events.ts';

export interface OutboxRow {
  id: number;
  orderId: string;
  type: OutboxEvent;
  createdAt: number;
  runAt: number;
  /** Written by the reconciler: must reach a worker even past a kept job with the same id. */
  redrive: number;
  /** The span that wrote the row (W3C traceparent), so that its jobs continue that trace; null untraced. */
  traceparent: string | null;
}
