/**
 * The pure parts of tracing: which OTEL_* settings turn it on and what they mean, and the W3C
 * traceparent text that carries a trace through the outbox and the jobs.
 */
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { contextFromTraceparent, currentTraceparent, formatTraceparent, tracingEnabled } from './tracing.ts';

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('tracing configuration', () => {
  it('is off without an OTLP endpoint, whatever else is set', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(
      loadConfig({ OTEL_SERVICE_NAME: 'shop', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_HEADERS: 'a=b' })
        .tracing,
    ).toBeUndefined();
  });

  it('is off when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, even with an endpoint', () => {
    expect(loadConfig({ ...ENDPOINT, OTEL_SDK_DISABLED: 'TRUE' }).tracing).toBeUndefined();
    expect(loadConfig({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'none' }).tracing).toBeUndefined();
    expect(loadConfig({ ...ENDPOINT, OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' }).tracing).toBeDefined();
  });

  it('gives the documented defaults once an endpoint is set', () => {
    expect(loadConfig(ENDPOINT).tracing).toEqual({
      serviceName: 'orders',
      resourceAttributes: {},
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: {},
      timeoutMs: 10_000,
      compression: 'none',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      batch: { scheduleDelayMs: 5_000, exportTimeoutMs: 30_000, maxQueueSize: 2_048, maxExportBatchSize: 512 },
    });
  });

  it('appends v1/traces to the general endpoint and takes the traces endpoint as it is', () => {
    const url = (env: Record<string, string>) => loadConfig(env).tracing?.url;
    expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/' })).toBe('https://otlp.example.com/v1/traces');
    expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://gateway:4318/otlp' })).toBe('http://gateway:4318/otlp/v1/traces');
    expect(url({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/custom' })).toBe('http://tempo:4318/custom');
    expect(url({ ...ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/v1/traces' })).toBe(
      'http://tempo:4318/v1/traces',
    );
  });

  it('lets each signal-specific variable win over the general one', () => {
    const tracing = loadConfig({
      ...ENDPOINT,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
      OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=shop,authorization=general',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer%20t0ken',
    }).tracing!;
    expect(tracing).toMatchObject({ protocol: 'http/json', timeoutMs: 3000, compression: 'gzip' });
    expect(tracing.headers).toEqual({ 'x-tenant': 'shop', authorization: 'Bearer t0ken' });
  });

  it('reads the service name, resource attributes and sampler', () => {
    const tracing = loadConfig({
      ...ENDPOINT,
      OTEL_SERVICE_NAME: 'shop-orders',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging, service.version=1.2.3',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    }).tracing!;
    expect(tracing).toMatchObject({
      serviceName: 'shop-orders',
      resourceAttributes: { 'deployment.environment.name': 'staging', 'service.version': '1.2.3' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', 'must be an http:// or https:// URL'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'grpc://collector:4317', 'must be an http:// or https:// URL'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc', 'grpc is not supported'],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'http/xml', 'must be http/protobuf or http/json'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'authorization', 'name=value'],
    ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'a=%E0%A4%A', 'name=value'],
    ['OTEL_RESOURCE_ATTRIBUTES', '=nameless', 'key=value'],
    ['OTEL_EXPORTER_OTLP_TIMEOUT', '0', 'at least 1'],
    ['OTEL_EXPORTER_OTLP_COMPRESSION', 'brotli', 'must be gzip or none'],
    ['OTEL_TRACES_SAMPLER', 'sometimes', 'must be one of always_on'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5', 'between 0 and 1'],
    ['OTEL_TRACES_EXPORTER', 'zipkin', 'must be otlp or none'],
    ['OTEL_SDK_DISABLED', 'yes', 'must be true or false'],
    ['OTEL_BSP_SCHEDULE_DELAY', 'soon', 'must be a number'],
  ])('refuses %s=%s, naming it', (name, value, message) => {
    const text = refusal({ ...ENDPOINT, [name]: value });
    expect(text).toContain(name);
    expect(text).toContain(message);
  });

  it('refuses an export batch larger than the span queue', () => {
    const text = refusal({ ...ENDPOINT, OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '200' });
    expect(text).toContain('OTEL_BSP_MAX_EXPORT_BATCH_SIZE');
  });
});

describe('traceparent', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const spanId = '00f067aa0ba902b7';

  it('names the remote parent it was written from, flags included', () => {
    for (const flags of ['01', '00']) {
      const parent = trace.getSpanContext(contextFromTraceparent(`00-${traceId}-${spanId}-${flags}`));
      expect(parent).toEqual({ traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true });
      expect(formatTraceparent(parent!)).toBe(`00-${traceId}-${spanId}-${flags}`);
    }
  });

  it('reads the four known fields of a later version and ignores what follows them', () => {
    const parent = trace.getSpanContext(contextFromTraceparent(`01-${traceId}-${spanId}-01-what-comes-next`));
    expect(parent?.traceId).toBe(traceId);
  });

  it.each([
    ['nothing', ''],
    ['a malformed value', 'not-a-traceparent'],
    ['version ff', `ff-${traceId}-${spanId}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${spanId}-01`],
    ['an all-zero span id', `00-${traceId}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${traceId.toUpperCase()}-${spanId}-01`],
    ['extra fields on version 00', `00-${traceId}-${spanId}-01-extra`],
  ])('gives no parent for %s', (_, text) => {
    expect(trace.getSpanContext(contextFromTraceparent(text))).toBeUndefined();
  });

  it('is never formatted while this process exports no traces, even inside a span', () => {
    expect(tracingEnabled()).toBe(false);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    try {
      const span = trace.wrapSpanContext({ traceId, spanId, traceFlags: 1 });
      context.with(trace.setSpan(ROOT_CONTEXT, span), () => {
        expect(trace.getActiveSpan()).toBe(span);
        expect(currentTraceparent()).toBeNull();
      });
    } finally {
      context.disable();
    }
  });
});
