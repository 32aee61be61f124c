/**
 * Spans across the queues, after the OpenTelemetry messaging conventions: the relay's enqueue of
 * each job is a PRODUCER span (`send <queue>`) continuing the trace of the outbox row, and its
 * context travels in the job data as `traceparent`; each run of the job is a CONSUMER span
 * (`process <queue>`) whose parent is that producer span. What the run writes to the outbox
 * carries the consumer span on, so an order's jobs form one trace.
 *
 * Why not BullMQ's own `telemetry` option (with bullmq-otel): in BullMQ 6.7.0, `addBulk` makes one
 * producer span per call, parented by whatever context is active in the relay, and copies that one
 * context into every job of the batch; the relay batches rows of many orders, so their jobs would
 * share a parent that belongs to none of them. Its workers also trace every `getNextJob` poll and
 * stalled-job check, which makes a root span for each idle poll. The context is carried in the job
 * data instead, as pg-boss carries a `trace_context` with each job.
 */
import type { Job } from 'bullmq';
import { DelayedError } from 'bullmq';
import type { Span } from '@opentelemetry/api';
import type { JobPayload, OutboxEvent } from '../domain/events.ts';
import { SpanKind, contextFromTraceparent, failSpan, formatTraceparent, inSpan, tracer } from './tracing.ts';

const MESSAGING_SYSTEM = 'bullmq';

/**
 * What a `send` span reads of the outbox row it enqueues (db/outbox-row.ts's `OutboxRow` has it):
 * named here so that telemetry/ needs nothing of db/, which calls into telemetry/ for its spans.
 */
export interface SentRow {
  id: number;
  orderId: string;
  type: OutboxEvent;
  /** The span that wrote the row (W3C traceparent); null untraced. */
  traceparent: string | null;
}

/** The producer spans of one relay pass: started as jobs are built, ended once Redis answered. */
export class JobSends {
  private readonly spans: Span[] = [];

  /** Starts the `send` span of one job and returns its data with the span's context in it. */
  start(queue: string, jobId: string, row: SentRow, data: JobPayload): JobPayload {
    const span = tracer().startSpan(
      `send ${queue}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.destination.name': queue,
          'messaging.message.id': jobId,
          'order.id': row.orderId,
          'order.event': row.type,
          'outbox.id': row.id,
        },
      },
      contextFromTraceparent(row.traceparent),
    );
    this.spans.push(span);
    const traceparent = formatTraceparent(span.spanContext());
    return traceparent ? { ...data, traceparent } : data;
  }

  end(error?: unknown): void {
    for (const span of this.spans) {
      if (error !== undefined) failSpan(span, error);
      span.end();
    }
  }
}

/**
 * Wraps a job handler so that each run is a `process <queue>` span, child of the job's `send`
 * span, active while the handler runs (what it logs and writes carries it).
 */
export function traceJobs<R>(
  queue: string,
  handler: (job: Job<JobPayload>, token?: string) => Promise<R>,
): (job: Job<JobPayload>, token?: string) => Promise<R> {
  return (job, token) =>
    inSpan(
      `process ${queue}`,
      {
        kind: SpanKind.CONSUMER,
        parent: contextFromTraceparent(job.data?.traceparent),
        attributes: {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.destination.name': queue,
          'messaging.message.id': job.id ?? '',
          'order.id': job.data?.orderId ?? '',
          'order.event': job.name,
          // The run this is, the first being 1.
          'job.attempt': job.attemptsMade + 1,
        },
        // Moved back to the delayed set on purpose: an ending, not a failure.
        isFailure: (error) => !(error instanceof DelayedError),
      },
      async (span) => {
        const result = await handler(job, token);
        if (typeof result === 'string') span.setAttribute('job.result', result);
        return result;
      },
    );
}
