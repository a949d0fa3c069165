import protobuf from 'protobufjs';

/**
 * The part of the OTLP protobuf schema (opentelemetry-proto, trace and logs v1) the receivers
 * read: enough to check spans and log records, with the field numbers of the published `.proto`
 * files. Unknown fields (events, links, ...) are skipped by the decoder, as protobuf allows.
 */
const SCHEMA = `
syntax = "proto3";
package otlp;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
message Resource { repeated KeyValue attributes = 1; }

message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  Status status = 15;
  fixed32 flags = 16;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }

message LogRecord {
  fixed64 time_unix_nano = 1;
  int32 severity_number = 2;
  string severity_text = 3;
  AnyValue body = 5;
  repeated KeyValue attributes = 6;
  fixed32 flags = 8;
  bytes trace_id = 9;
  bytes span_id = 10;
  fixed64 observed_time_unix_nano = 11;
}
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
`;

const root = protobuf.parse(SCHEMA, { keepCase: false }).root;
const TraceRequest = root.lookupType('otlp.ExportTraceServiceRequest');
const LogsRequest = root.lookupType('otlp.ExportLogsServiceRequest');

function hex(bytes: unknown): string {
  return bytes instanceof Uint8Array ? Buffer.from(bytes).toString('hex') : '';
}

/** protobufjs' plain object of an AnyValue, as OTLP/JSON writes it (`stringValue`, `intValue` as a decimal string, ...). */
function anyValue(value: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!value) return undefined;
  if (value.arrayValue) {
    const values = ((value.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(anyValue);
    return { arrayValue: { values } };
  }
  if (value.kvlistValue) {
    return { kvlistValue: { values: keyValues((value.kvlistValue as { values?: unknown[] }).values) } };
  }
  if (value.bytesValue !== undefined)
    return { bytesValue: Buffer.from(value.bytesValue as Uint8Array).toString('base64') };
  if (value.intValue !== undefined) return { intValue: String(value.intValue) };
  return value;
}

function keyValues(list: unknown): Array<{ key: string; value: unknown }> {
  return ((list as Array<{ key: string; value?: Record<string, unknown> }>) ?? []).map(({ key, value }) => ({
    key,
    value: anyValue(value) ?? {},
  }));
}

type Plain = Record<string, unknown>;
type Resource = { resource?: { attributes?: unknown[] } } & Plain;
type Scope = { scope?: Plain } & Plain;

/**
 * One request's `resource{Spans|Logs}[].scope{Spans|Logs}[].{spans|logRecords}[]` walked into the
 * OTLP/JSON shape, each item mapped by `item`.
 */
function walk(plain: Plain, keys: [string, string, string], item: (value: Plain) => Plain): Plain {
  const [resources, scopes, items] = keys;
  return {
    [resources]: ((plain[resources] as Resource[]) ?? []).map((resource) => ({
      resource: { attributes: keyValues(resource.resource?.attributes) },
      [scopes]: ((resource[scopes] as Scope[]) ?? []).map((scope) => ({
        scope: scope.scope,
        [items]: ((scope[items] as Plain[]) ?? []).map(item),
      })),
    })),
  };
}

/**
 * An `ExportTraceServiceRequest` in protobuf, as the OTLP/JSON object the JSON receiver reads:
 * hex ids, times as decimal strings, attributes as `{ key, value: { stringValue | intValue | ... } }`.
 */
export function tracesFromProtobuf(body: Uint8Array): Plain {
  const plain = TraceRequest.toObject(TraceRequest.decode(body), { longs: String, arrays: true });
  return walk(plain, ['resourceSpans', 'scopeSpans', 'spans'], (span) => ({
    ...span,
    traceId: hex(span.traceId),
    spanId: hex(span.spanId),
    parentSpanId: hex(span.parentSpanId),
    attributes: keyValues(span.attributes),
  }));
}

/** An `ExportLogsServiceRequest` in protobuf, as the OTLP/JSON object the JSON receiver reads. */
export function logsFromProtobuf(body: Uint8Array): Plain {
  const plain = LogsRequest.toObject(LogsRequest.decode(body), { longs: String, arrays: true });
  return walk(plain, ['resourceLogs', 'scopeLogs', 'logRecords'], (record) => ({
    ...record,
    traceId: hex(record.traceId),
    spanId: hex(record.spanId),
    body: anyValue(record.body as Plain | undefined),
    attributes: keyValues(record.attributes),
  }));
}
