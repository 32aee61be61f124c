/**
 * Structured logs (pino). Modules take a logger and make child loggers that carry orderId, queue
 * and jobId, so one order can be followed across processes with a single filter. Where traces are
 * exported, each line also carries the trace_id and span_id of the span it was written in.
 */
import { pino, type Logger } from 'pino';
import { logTraceIds } from './telemetry/tracing.ts';

export function createLogger(level: string, options: { traceIds?: boolean } = {}): Logger {
  // The mixin runs for every line: installed only where there are spans to read.
  return pino({ level, base: { service: 'orders' }, ...(options.traceIds ? { mixin: logTraceIds } : {}) });
}

export type { Logger };
