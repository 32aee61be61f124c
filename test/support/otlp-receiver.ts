/**
 * An OTLP/HTTP trace receiver for tests: a plain node http server that accepts what a collector
 * accepts on /v1/traces (or any path), in either encoding, and keeps every span it was sent.
 * `http/json` bodies are OTLP's JSON mapping; `http/protobuf` bodies are decoded here from the
 * wire format with the field numbers of opentelemetry/proto (collector/trace/v1 and trace/v1),
 * so the test reads what went over the wire, not what the exporter meant to send.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';

export type AttributeValue = string | number | boolean | null;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, AttributeValue>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  serviceName: string;
}

export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

export interface ReceivedRequest {
  method: string;
  path: string;
  contentType: string;
  headers: IncomingHttpHeaders;
  spans: ReceivedSpan[];
}

export class OtlpReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Bodies that could not be decoded, with why. */
  readonly refused: string[] = [];

  private constructor(private readonly server: Server) {}

  static async start(port = 0): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        const contentType = String(req.headers['content-type'] ?? '');
        try {
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          const spans = contentType.startsWith('application/x-protobuf')
            ? decodeProtobufRequest(body)
            : decodeJsonRequest(JSON.parse(body.toString('utf8')));
          receiver.requests.push({ method: req.method ?? '', path: req.url ?? '', contentType, headers: req.headers, spans });
        } catch (error) {
          receiver.refused.push(`${contentType}: ${(error as Error).message}`);
          res.writeHead(400).end();
          return;
        }
        // An empty ExportTraceServiceResponse: everything accepted.
        if (contentType.startsWith('application/json')) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get spans(): ReceivedSpan[] {
    return this.requests.flatMap((r) => r.spans);
  }

  /** Waits until `done` holds over the spans received so far; fails with what arrived. */
  async waitFor(done: (spans: ReceivedSpan[]) => boolean, timeoutMs = 20_000): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (done(this.spans)) return this.spans;
      await sleep(25);
    }
    throw new Error(
      `the spans awaited did not arrive in ${timeoutMs} ms; got ${this.spans.map((s) => s.name).join(', ') || 'none'}` +
        (this.refused.length ? `; refused: ${this.refused.join('; ')}` : ''),
    );
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---- OTLP/JSON ----

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
}
interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}

function jsonValue(value: JsonAnyValue | undefined): AttributeValue {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return null;
}

function jsonAttributes(list: JsonKeyValue[] | undefined): Record<string, AttributeValue> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));
}

function decodeJsonRequest(body: any): ReceivedSpan[] {
  if (!body || !Array.isArray(body.resourceSpans)) throw new Error('no resourceSpans in the JSON body');
  return body.resourceSpans.flatMap((rs: any) => {
    const serviceName = String(jsonAttributes(rs.resource?.attributes)['service.name'] ?? '');
    return (rs.scopeSpans ?? []).flatMap((ss: any) =>
      (ss.spans ?? []).map(
        (s: any): ReceivedSpan => ({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: Number(s.kind ?? 0),
          attributes: jsonAttributes(s.attributes),
          statusCode: Number(s.status?.code ?? 0),
          serviceName,
        }),
      ),
    );
  });
}

// ---- OTLP/protobuf: the wire format, enough of it for spans ----

type Field = { no: number; wire: number; int: bigint; bytes: Uint8Array };

function* fields(buf: Uint8Array): Generator<Field> {
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= buf.length) throw new Error('truncated varint');
      const byte = buf[at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  while (at < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    const empty = new Uint8Array(0);
    if (wire === 0) yield { no, wire, int: varint(), bytes: empty };
    else if (wire === 1) {
      yield { no, wire, int: 0n, bytes: buf.subarray(at, at + 8) };
      at += 8;
    } else if (wire === 2) {
      const length = Number(varint());
      if (at + length > buf.length) throw new Error('truncated field');
      yield { no, wire, int: 0n, bytes: buf.subarray(at, at + length) };
      at += length;
    } else if (wire === 5) {
      yield { no, wire, int: 0n, bytes: buf.subarray(at, at + 4) };
      at += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** AnyValue: 1 string, 2 bool, 3 int, 4 double. */
function protoValue(buf: Uint8Array): AttributeValue {
  for (const f of fields(buf)) {
    if (f.no === 1) return text(f.bytes);
    if (f.no === 2) return f.int !== 0n;
    if (f.no === 3) return Number(BigInt.asIntN(64, f.int));
    if (f.no === 4) return Buffer.from(f.bytes).readDoubleLE(0);
  }
  return null;
}

/** KeyValue: 1 key, 2 value. */
function protoKeyValue(buf: Uint8Array): [string, AttributeValue] {
  let key = '';
  let value: AttributeValue = null;
  for (const f of fields(buf)) {
    if (f.no === 1) key = text(f.bytes);
    else if (f.no === 2) value = protoValue(f.bytes);
  }
  return [key, value];
}

/** Span: 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind, 9 attributes, 15 status (3 code). */
function protoSpan(buf: Uint8Array, serviceName: string): ReceivedSpan {
  const span: ReceivedSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 0,
    attributes: {},
    statusCode: 0,
    serviceName,
  };
  for (const f of fields(buf)) {
    if (f.no === 1) span.traceId = hex(f.bytes);
    else if (f.no === 2) span.spanId = hex(f.bytes);
    else if (f.no === 4) span.parentSpanId = hex(f.bytes);
    else if (f.no === 5) span.name = text(f.bytes);
    else if (f.no === 6) span.kind = Number(f.int);
    else if (f.no === 9) {
      const [key, value] = protoKeyValue(f.bytes);
      span.attributes[key] = value;
    } else if (f.no === 15) {
      for (const s of fields(f.bytes)) if (s.no === 3) span.statusCode = Number(s.int);
    }
  }
  return span;
}

/** ExportTraceServiceRequest: 1 resource_spans; ResourceSpans: 1 resource (1 attributes), 2 scope_spans (2 spans). */
function decodeProtobufRequest(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of fields(body)) {
    if (rs.no !== 1) continue;
    let serviceName = '';
    const scopes: Uint8Array[] = [];
    for (const f of fields(rs.bytes)) {
      if (f.no === 1) {
        for (const attr of fields(f.bytes)) {
          if (attr.no !== 1) continue;
          const [key, value] = protoKeyValue(attr.bytes);
          if (key === 'service.name') serviceName = String(value);
        }
      } else if (f.no === 2) scopes.push(f.bytes);
    }
    for (const scope of scopes) for (const f of fields(scope)) if (f.no === 2) spans.push(protoSpan(f.bytes, serviceName));
  }
  if (spans.length === 0) throw new Error('no spans in the protobuf body');
  return spans;
}
