/**
 * The OpenTelemetry SDK, configured from TracingConfig: a tracer provider with the configured
 * sampler, a batch span processor and an OTLP/HTTP exporter (protobuf or JSON), the async-local
 * context manager and the W3C trace-context propagator. Only tracing.ts imports this module, and
 * only dynamically, once an endpoint is configured.
 *
 * Every setting is passed explicitly from the config (config.ts reads the environment); the
 * env-free `@opentelemetry/sdk-trace` classes are used rather than the sdk-trace-base/-node
 * shims, which fill unset options from OTEL_* variables themselves.
 */
import { DiagLogLevel, context, diag, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import type { TracingConfig } from './config.ts';

type ExporterOptions = NonNullable<ConstructorParameters<typeof ProtobufExporter>[0]>;

export function installSdk(config: TracingConfig, logger: Logger): { shutdown(): Promise<void> } {
  // The SDK reports its own trouble (an unreachable collector, a refused batch) through diag.
  const log = logger.child({ component: 'tracing' });
  diag.setLogger(
    {
      error: (message, ...args) => log.warn({ detail: args.map(String) }, `OpenTelemetry: ${message}`),
      warn: (message, ...args) => log.warn({ detail: args.map(String) }, `OpenTelemetry: ${message}`),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );

  const options: ExporterOptions = {
    url: config.url,
    headers: config.headers,
    timeoutMillis: config.timeoutMs,
    compression: config.compression as ExporterOptions['compression'],
  };
  const exporter = config.protocol === 'http/json' ? new JsonExporter(options) : new ProtobufExporter(options);

  const provider = new TracerProvider({
    resource: resourceFromAttributes({ ...config.resourceAttributes, 'service.name': config.serviceName }),
    sampler: samplerFor(config),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        scheduledDelayMillis: config.batch.scheduleDelayMs,
        exportTimeoutMillis: config.batch.exportTimeoutMs,
        maxQueueSize: config.batch.maxQueueSize,
        maxExportBatchSize: config.batch.maxExportBatchSize,
      }),
    ],
  });

  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  log.info(
    { url: config.url, protocol: config.protocol, serviceName: config.serviceName, sampler: config.sampler },
    'exporting traces over OTLP/HTTP',
  );

  return {
    async shutdown() {
      // Flushes the batch processor, then closes the exporter. A collector that is away loses
      // these last spans; it must not fail the shutdown.
      await provider.shutdown().catch((err) => log.warn({ err }, 'could not export the last spans'));
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

function samplerFor(config: TracingConfig): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
  }
}
