/**
 * One AI usage record (`record_type: ai_usage`) as the trail holds it: what ai-proxy's AILogger
 * writes per call (services/ai-proxy/src/usage/accounting.ts and orphans.ts).
 */
export interface UsageLine {
  /** The line in the file (1-based), or the entry's position in a Loki read. */
  line: number;
  timeMs: number;
  userId: string;
  operation: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedPromptTokens: number;
  costTicks: number;
  /** With a billed cost: the table's price (the pricing check). */
  pricedTicks: number | undefined;
  costSource: string;
  outcome: string;
  estimated: boolean;
  callId: string | undefined;
  requestId: string | undefined;
  traceId: string | undefined;
  replicaId: string | undefined;
  seq: number | undefined;
}

/** What one line of input is. */
export type ParsedLine =
  | { kind: 'usage'; record: UsageLine }
  | { kind: 'other' }
  | { kind: 'malformed'; reason: string };

/** `docker compose logs` puts `<service>-<n>  | ` (and with `-t` a timestamp) before each line. */
const COMPOSE_PREFIX = /^[\w.-]+\s+\|\s?(?:\d{4}-\d\d-\d\dT[\d:.]+Z\s)?/;

function integer(value: unknown, name: string, fallback?: number): number {
  if (value === undefined || value === null || value === '') {
    if (fallback !== undefined) return fallback;
    throw new RangeError(`no ${name}`);
  }
  // Loki's structured metadata and some exports carry numbers as strings.
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${name} is not a non-negative integer: ${JSON.stringify(value)}`);
  }
  return n;
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new RangeError(`no ${name}`);
  return value;
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function timeOf(value: unknown, fallbackMs: number | undefined): number {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  if (fallbackMs !== undefined) return fallbackMs;
  throw new RangeError(`no timestamp: ${JSON.stringify(value)}`);
}

/**
 * A usage record from a record object (a parsed log line, or Loki's labels and structured metadata).
 * `fallbackTimeMs` is the entry's time when the record has no `timestamp` (Loki keeps it apart).
 * RangeError names the first field that cannot be counted.
 */
export function usageFromObject(fields: Record<string, unknown>, line: number, fallbackTimeMs?: number): UsageLine {
  const promptTokens = integer(fields.prompt_tokens, 'prompt_tokens');
  const completionTokens = integer(fields.completion_tokens, 'completion_tokens');
  const reasoningTokens = integer(fields.reasoning_tokens, 'reasoning_tokens', 0);
  const cachedPromptTokens = integer(fields.cached_prompt_tokens, 'cached_prompt_tokens', 0);
  if (reasoningTokens > completionTokens) throw new RangeError('reasoning_tokens above completion_tokens');
  if (cachedPromptTokens > promptTokens) throw new RangeError('cached_prompt_tokens above prompt_tokens');
  const seq = fields.seq === undefined ? undefined : integer(fields.seq, 'seq');
  return {
    line,
    timeMs: timeOf(fields.timestamp, fallbackTimeMs),
    userId: text(fields.user_id, 'user_id'),
    operation: text(fields.operation, 'operation'),
    model: text(fields.model, 'model'),
    promptTokens,
    completionTokens,
    reasoningTokens,
    cachedPromptTokens,
    costTicks: integer(fields.cost_usd_ticks, 'cost_usd_ticks'),
    pricedTicks:
      fields.priced_usd_ticks === undefined ? undefined : integer(fields.priced_usd_ticks, 'priced_usd_ticks'),
    costSource: optionalText(fields.cost_source) ?? 'priced',
    outcome: optionalText(fields.outcome) ?? 'success',
    estimated: fields.tokens_estimated === true || fields.tokens_estimated === 'true',
    callId: optionalText(fields.call_id),
    requestId: optionalText(fields.request_id),
    traceId: optionalText(fields.trace_id),
    replicaId: optionalText(fields.replica_id),
    seq,
  };
}

/**
 * One line of a JSON-lines file: the production log format (one JSON object a line), the same
 * behind `docker compose logs`' `<service>  | ` prefix, or an export of Loki entries (`logcli
 * --output=jsonl`: `{"line": "<the record>", "timestamp", "labels"}`). Lines that are JSON but no
 * usage record (other logs) are `other`; blank lines too. Anything else is `malformed`, with why.
 */
export function parseLine(raw: string, line: number): ParsedLine {
  let body = raw.trim();
  if (body.length === 0) return { kind: 'other' };
  if (!body.startsWith('{')) {
    const prefix = COMPOSE_PREFIX.exec(body);
    if (prefix) body = body.slice(prefix[0].length).trim();
    if (body.length === 0) return { kind: 'other' };
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { kind: 'malformed', reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'malformed', reason: 'not a JSON object' };
  }
  let fields = value as Record<string, unknown>;
  if (typeof fields.line === 'string' && fields.record_type === undefined) {
    // An exported Loki entry: the record is its line (or, from OTLP ingestion, its labels).
    const inner = fields.line.trim().startsWith('{') ? parseLine(fields.line, line) : undefined;
    if (inner && inner.kind !== 'other') return inner;
    const labels = typeof fields.labels === 'object' && fields.labels !== null ? fields.labels : {};
    fields = { timestamp: fields.timestamp, ...(labels as Record<string, unknown>) };
  }
  if (fields.record_type !== 'ai_usage') return { kind: 'other' };
  try {
    return { kind: 'usage', record: usageFromObject(fields, line) };
  } catch (err) {
    return { kind: 'malformed', reason: (err as Error).message };
  }
}
