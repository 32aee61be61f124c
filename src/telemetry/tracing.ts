/**
 * Tracing as the rest of the service sees it: the OpenTelemetry API only (a few kilobytes, with a
 * no-op tracer until an SDK registers), a switch that says whether this process exports traces,
 * and the W3C `traceparent` text that carries a trace through the outbox and the queues.
 *
 * The switch is process-wide because the OpenTelemetry API is: one tracer provider, one context
 * manager per process. It is on only after `startTracing` loaded the SDK (sdk.ts, imported
 * dynamically, so a process without an OTLP endpoint never loads it). Every hot path asks
 * `tracingEnabled()` first and, when it is off, makes no span and formats no context.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { TracingConfig } from './config.ts';

let enabled = false;

/** True once this process exports traces. */
export function tracingEnabled(): boolean {
  return enabled;
}

export interface Tracing {
  /** Ends the batch: exports what is buffered, then stops the exporter. */
  shutdown(): Promise<void>;
}

/** Loads the SDK and registers it with the API; from now on spans are recorded and exported. */
export async function startTracing(config: TracingConfig, logger: Logger): Promise<Tracing> {
  const { installSdk } = await import('./sdk.ts');
  const sdk = installSdk(config, logger);
  enabled = true;
  return {
    async shutdown() {
      enabled = false;
      await sdk.shutdown();
    },
  };
}

/** The instrumentation scope of every span the service makes. */
export function tracer() {
  return trace.getTracer('order-service');
}

export { SpanKind };

/** `00-<trace id>-<span id>-<flags>` of the active span, or null (always null while tracing is off). */
export function currentTraceparent(): string | null {
  if (!enabled) return null;
  const span = trace.getActiveSpan();
  return span ? formatTraceparent(span.spanContext()) : null;
}

export function formatTraceparent(spanContext: SpanContext): string | null {
  if (!isSpanContextValid(spanContext)) return null;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

// Version 00 has exactly these four fields; a later version may add fields after them.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The remote span a `traceparent` names, as a parent context; the root context if it names none. */
export function contextFromTraceparent(traceparent: string | null | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  const match = TRACEPARENT.exec(traceparent);
  if (!match || match[1] === 'ff' || (match[1] === '00' && match[5] !== undefined)) return ROOT_CONTEXT;
  const spanContext: SpanContext = {
    traceId: match[2]!,
    spanId: match[3]!,
    traceFlags: parseInt(match[4]!, 16),
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}

/**
 * Runs `fn` in a new active span and ends it when `fn` settles; a throw marks the span as an
 * error (unless `isFailure` says it is none) and goes on. `parent` defaults to the active context.
 */
export function inSpan<T>(
  name: string,
  options: { kind: SpanKind; attributes?: Attributes; parent?: Context; isFailure?: (error: unknown) => boolean },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(name, { kind: options.kind, attributes: options.attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      if (options.isFailure?.(error) ?? true) failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds attributes to the active span; does nothing at all while tracing is off. */
export function annotateSpan(attributes: Attributes): void {
  if (enabled) trace.getActiveSpan()?.setAttributes(attributes);
}

export function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * Runs `fn` outside any trace. Background loops kicked from inside a request or a job (the relay)
 * would otherwise inherit that one span's context for every later pass.
 */
export function detached<T>(fn: () => T): T {
  return enabled ? context.with(ROOT_CONTEXT, fn) : fn();
}

/** trace_id and span_id of the active span, for log lines (a pino mixin). */
export function logTraceIds(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
