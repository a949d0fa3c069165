import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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

/**
 * A loopback OTLP/HTTP receiver speaking the JSON encoding (what the `-otlp-http` exporters send):
 * collects spans from /v1/traces and log records from /v1/logs.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly logs: ReceivedLog[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (req.url === '/v1/traces') this.addTraces(body);
          if (req.url === '/v1/logs') this.addLogs(body);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
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
  private addTraces(body: any): void {
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
  private addLogs(body: any): void {
    for (const resourceLogs of body.resourceLogs ?? []) {
      const resource = flatten(resourceLogs.resource?.attributes);
      for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
        for (const record of scopeLogs.logRecords ?? []) {
          this.logs.push({
            traceId: record.traceId || undefined,
            spanId: record.spanId || undefined,
            severityText: record.severityText,
            body: record.body?.stringValue ?? record.body,
            attributes: flatten(record.attributes),
            resource,
          });
        }
      }
    }
  }
}
