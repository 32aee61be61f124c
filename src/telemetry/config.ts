/**
 * The OTEL_* part of the configuration: the standard OpenTelemetry variables, validated and
 * documented here beside the code that uses them, and read into a TracingConfig. config.ts
 * composes this part into the one schema it reads process.env with.
 */
import { z } from 'zod';
import { documented, httpUrl, int, keyValueList, optionalMs } from '../config/fields.ts';

/** The OTLP encodings the service exports with; gRPC would need another exporter and its HTTP/2 stack. */
const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
const otlpProtocol = () =>
  z.enum(OTLP_PROTOCOLS, { error: 'must be http/protobuf or http/json (grpc is not supported)' }).optional();
const compression = () => z.enum(['gzip', 'none'], { error: 'must be gzip or none' }).optional();
const HEADERS = 'a list of name=value headers separated by commas';

export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** Where and how traces go (see `tracingConfig`), in the order of the configuration table. */
export const OTEL_ENV = {
  OTEL_EXPORTER_OTLP_ENDPOINT: documented(httpUrl(), {
    description:
      'Base URL of an OTLP/HTTP receiver (`http://collector:4318`); spans go to `<it>/v1/traces`. Unset (and `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` unset too): no tracing at all, see [Traces](#traces).',
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: documented(httpUrl(), {
    description: 'Full URL spans are posted to, used as it is; wins over the one above.',
  }),
  OTEL_EXPORTER_OTLP_PROTOCOL: documented(otlpProtocol(), {
    description: '`http/protobuf` or `http/json` (`grpc` is refused).',
    unset: '`http/protobuf`',
  }),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: documented(otlpProtocol(), {
    description: 'The same for spans only; wins over `OTEL_EXPORTER_OTLP_PROTOCOL`.',
    unset: '`OTEL_EXPORTER_OTLP_PROTOCOL`',
  }),
  OTEL_EXPORTER_OTLP_HEADERS: documented(keyValueList(HEADERS), {
    description:
      'Headers on each export, `name=value,name2=value2`, values percent-encoded (`authorization=Bearer%20abc`). Never echoed in a configuration error.',
    secret: true,
  }),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: documented(keyValueList(HEADERS), {
    description:
      'More headers on each export of spans, in the same format; both are sent, and this one wins a name they share. Never echoed in a configuration error.',
    secret: true,
  }),
  OTEL_EXPORTER_OTLP_TIMEOUT: documented(optionalMs(), { description: 'Milliseconds one export may take.', unset: '`10000`' }),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: documented(optionalMs(), {
    description: 'The same for spans only; wins over `OTEL_EXPORTER_OTLP_TIMEOUT`.',
    unset: '`OTEL_EXPORTER_OTLP_TIMEOUT`',
  }),
  OTEL_EXPORTER_OTLP_COMPRESSION: documented(compression(), { description: '`gzip` or `none`.', unset: '`none`' }),
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: documented(compression(), {
    description: 'The same for spans only; wins over `OTEL_EXPORTER_OTLP_COMPRESSION`.',
    unset: '`OTEL_EXPORTER_OTLP_COMPRESSION`',
  }),
  OTEL_SERVICE_NAME: documented(z.string().optional(), { description: '`service.name` of the spans.', unset: '`orders`' }),
  OTEL_RESOURCE_ATTRIBUTES: documented(keyValueList('a list of key=value pairs separated by commas'), {
    description: 'More resource attributes, `key=value,…` (`deployment.environment.name=prod,service.version=1.4.0`).',
  }),
  OTEL_TRACES_SAMPLER: documented(
    z.enum(SAMPLERS, { error: `must be one of ${SAMPLERS.join(', ')}` }).default('parentbased_always_on'),
    {
      description:
        "`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off` or `parentbased_traceidratio`. A parent-based sampler follows the caller's decision, and every job follows its order's.",
    },
  ),
  OTEL_TRACES_SAMPLER_ARG: documented(
    z.coerce
      .number({ error: 'must be a number' })
      .min(0, { error: 'must be between 0 and 1' })
      .max(1, { error: 'must be between 0 and 1' })
      .optional(),
    { description: 'The ratio (0-1) of the `traceidratio` samplers.', unset: '`1`' },
  ),
  OTEL_TRACES_EXPORTER: documented(z.enum(['otlp', 'none'], { error: 'must be otlp or none' }).optional(), {
    description: '`none` turns tracing off whatever the endpoint.',
    unset: '`otlp`',
  }),
  OTEL_SDK_DISABLED: documented(
    z
      .string()
      .transform((v) => v.toLowerCase())
      .pipe(z.enum(['true', 'false'], { error: 'must be true or false' }))
      .optional(),
    { description: '`true` turns tracing off whatever the endpoint.', unset: '`false`' },
  ),
  OTEL_BSP_SCHEDULE_DELAY: documented(int(5_000, 1), {
    description: 'Milliseconds between two exports of the batch of ended spans.',
  }),
  OTEL_BSP_EXPORT_TIMEOUT: documented(int(30_000, 1), { description: 'Milliseconds a batch export may take, retries included.' }),
  OTEL_BSP_MAX_QUEUE_SIZE: documented(int(2_048, 1), {
    description: 'Ended spans held for export; beyond that, new spans are dropped.',
  }),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: documented(int(512, 1), {
    description: 'Spans per export request; at most `OTEL_BSP_MAX_QUEUE_SIZE`.',
  }),
};

type OtelEnv = z.output<z.ZodObject<typeof OTEL_ENV>>;

/** The checks between OTEL_* variables, once each is valid on its own. */
export function checkOtelEnv(e: OtelEnv, ctx: z.RefinementCtx): void {
  if (e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE > e.OTEL_BSP_MAX_QUEUE_SIZE && tracingConfig(e) !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE'],
      message: `must not exceed OTEL_BSP_MAX_QUEUE_SIZE (${e.OTEL_BSP_MAX_QUEUE_SIZE})`,
    });
  }
}

/** Set when traces are exported; unset, the service loads no tracing SDK and makes no spans. */
export type TracingConfig = NonNullable<ReturnType<typeof tracingConfig>>;

/**
 * Traces are exported only where an endpoint is given (the SDK's own default of localhost:4318 is
 * not assumed: a service nobody pointed anywhere pays nothing), unless OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none. A signal-specific variable wins over the general one.
 */
export function tracingConfig(e: OtelEnv) {
  const url =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (e.OTEL_EXPORTER_OTLP_ENDPOINT === undefined ? undefined : `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`);
  if (url === undefined || e.OTEL_SDK_DISABLED === 'true' || e.OTEL_TRACES_EXPORTER === 'none') return undefined;
  return {
    serviceName: e.OTEL_SERVICE_NAME ?? 'orders',
    resourceAttributes: e.OTEL_RESOURCE_ATTRIBUTES ?? {},
    /** The full URL spans are POSTed to (…/v1/traces). */
    url,
    protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    headers: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    timeoutMs: e.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? e.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
    compression: e.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? e.OTEL_EXPORTER_OTLP_COMPRESSION ?? 'none',
    sampler: e.OTEL_TRACES_SAMPLER,
    /** The ratio of the traceidratio samplers (1 = every trace). */
    samplerRatio: e.OTEL_TRACES_SAMPLER_ARG ?? 1,
    batch: {
      scheduleDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
      exportTimeoutMs: e.OTEL_BSP_EXPORT_TIMEOUT,
      maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    },
  };
}
