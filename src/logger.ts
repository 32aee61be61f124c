/**
 * Structured logs (pino). Modules take a logger and make child loggers that carry orderId, queue
 * and jobId, so one order can be followed across processes with a single filter.
 */
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'orders' } });
}

export type { Logger };
