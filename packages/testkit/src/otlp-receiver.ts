import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { logsFromProtobuf, tracesFromProtobuf } from './otlp-proto';

export interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  scope: string;
  resource: Record<string, unknown>;
}

export interface ReceivedLog {
  traceId?: string;
  spanId?: string;
  severityText?: string;
  body: unknown;
  /** The instrumentation scope's name. */
  scope?: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

function flatten(attributes: OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of attributes ?? []) {
    out[key] =
      value.stringValue ??
      value.boolValue ??
      value.doubleValue ??
      (value.intValue !== undefined ? Number(value.intValue) : undefined);
  }
  return out;
}

/** The OTLP encodings a receiver has seen, by signal (`traces:json`, `logs:protobuf`, `traces:grpc`). */
export type OtlpEncoding = `${'traces' | 'logs'}:${'json' | 'protobuf' | 'grpc'}`;

/**
 * A loopback OTLP/HTTP receiver speaking both encodings of the spec (JSON, and protobuf for
 * `Content-Type: application/x-protobuf`), gzip or not: collects spans from /v1/traces and log
 * records from /v1/logs, and notes which encoding each request used.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly logs: ReceivedLog[] = [];
  /** One entry per export request received. */
  readonly encodings: OtlpEncoding[] = [];
  /** The headers of each HTTP export request received. */
  readonly headers: IncomingHttpHeaders[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.headers.push(req.headers);
        try {
          let raw = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
          const protobuf = String(req.headers['content-type']).startsWith('application/x-protobuf');
          const encoding = protobuf ? 'protobuf' : 'json';
          if (req.url === '/v1/traces') {
            this.addTraces(protobuf ? tracesFromProtobuf(raw) : JSON.parse(raw.toString('utf8')));
            this.encodings.push(`traces:${encoding}`);
          }
          if (req.url === '/v1/logs') {
            this.addLogs(protobuf ? logsFromProtobuf(raw) : JSON.parse(raw.toString('utf8')));
            this.encodings.push(`logs:${encoding}`);
          }
          // An empty message is a valid (empty) export response in either encoding.
          if (protobuf) res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
          else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Polls until `predicate` holds or `timeoutMs` passes. */
  async waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('timed out waiting for telemetry at the OTLP receiver');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: -- OTLP JSON payloads are walked structurally
  addTraces(body: any): void {
    for (const resourceSpans of body.resourceSpans ?? []) {
      const resource = flatten(resourceSpans.resource?.attributes);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            attributes: flatten(span.attributes),
            scope: scopeSpans.scope?.name,
            resource,
          });
        }
      }
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: -- OTLP JSON payloads are walked structurally
  addLogs(body: any): void {
    for (const resourceLogs of body.resourceLogs ?? []) {
      const resource = flatten(resourceLogs.resource?.attributes);
      for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
        for (const record of scopeLogs.logRecords ?? []) {
          this.logs.push({
            traceId: record.traceId || undefined,
            spanId: record.spanId || undefined,
            severityText: record.severityText,
            body: record.body?.stringValue ?? record.body,
            scope: scopeLogs.scope?.name,
            attributes: flatten(record.attributes),
            resource,
          });
        }
      }
    }
  }
}
