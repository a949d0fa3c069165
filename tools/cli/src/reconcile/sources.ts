import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type ParsedLine, parseLine, usageFromObject } from './records';

/** One input line or entry, parsed, with where it was. */
export interface SourceEntry {
  line: number;
  parsed: ParsedLine;
}

/** Told how far a read is (0..1) as it goes. */
export type Progress = (fraction: number) => void;

/**
 * The lines of a JSON-lines file (`-` is stdin), parsed, streaming: a year of records is read in
 * constant memory. Progress is the share of the file's bytes read (none for stdin).
 */
export async function* readFile(path: string, onProgress?: Progress): AsyncIterable<SourceEntry> {
  const stdin = path === '-';
  const size = stdin ? 0 : statSync(path).size;
  const stream = stdin ? process.stdin : createReadStream(path);
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const raw of lines) {
    n++;
    yield { line: n, parsed: parseLine(raw, n) };
    if (onProgress && size > 0 && n % 1000 === 0)
      onProgress(((stream as { bytesRead?: number }).bytesRead ?? 0) / size);
  }
  onProgress?.(1);
}

/** Options of {@link readLoki}. */
export interface LokiOptions {
  /** Loki's base URL (`http://loki:3100`). */
  url: string;
  /** LogQL stream selector of the usage records; default `{record_type="ai_usage"}`. */
  query: string;
  fromMs: number;
  toMs: number;
  /** Entries per request (Loki's `limit`; its default max_entries_limit_per_query is 5000). */
  pageSize?: number;
  /** Each request covers at most this long (Loki refuses queries longer than max_query_length). */
  windowMs?: number;
  /** `X-Scope-OrgID` for a multi-tenant Loki. */
  orgId?: string | undefined;
  onProgress?: Progress;
}

/** Loki's `query_range` answer for a log query. */
interface LokiStreams {
  status: string;
  data?: {
    resultType: string;
    result: Array<{
      stream: Record<string, string>;
      values: Array<
        | [string, string]
        | [string, string, { structuredMetadata?: Record<string, string>; parsed?: Record<string, string> }]
      >;
    }>;
  };
}

const DAY_MS = 86_400_000;
const NS_PER_MS = 1_000_000n;

/**
 * A Loki entry as a parsed line: the line itself when it is the JSON record (logs shipped as
 * lines), else the stream labels with the entry's structured metadata (Loki's OTLP ingestion keeps
 * the record's attributes there, and the message as the line).
 */
function entryOf(
  stream: Record<string, string>,
  line: string,
  meta: Record<string, string> | undefined,
  timeMs: number,
  n: number,
): ParsedLine {
  if (line.trimStart().startsWith('{')) {
    const parsed = parseLine(line, n);
    if (parsed.kind !== 'other') return parsed;
  }
  const fields: Record<string, unknown> = { ...stream, ...meta };
  if (fields.record_type !== 'ai_usage') return { kind: 'other' };
  try {
    return { kind: 'usage', record: usageFromObject(fields, n, timeMs) };
  } catch (err) {
    return { kind: 'malformed', reason: (err as Error).message };
  }
}

/**
 * The usage records of a period from Loki's `GET /loki/api/v1/query_range`, oldest first, one
 * window (a day by default) and one page (`limit` entries, `direction=forward`) at a time. The next
 * page starts at the last entry's nanosecond (start is inclusive), skipping the entries of that
 * nanosecond already read, as Loki's own client pages. Asks for categorized labels, so structured
 * metadata comes apart from the stream labels, and reads either form. Throws on a non-2xx answer.
 */
export async function* readLoki(options: LokiOptions): AsyncIterable<SourceEntry> {
  const { url, query, fromMs, toMs, pageSize = 5000, windowMs = DAY_MS, orgId, onProgress } = options;
  const base = url.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'x-loki-response-encoding-flags': 'categorize-labels' };
  if (orgId) headers['x-scope-orgid'] = orgId;
  let n = 0;
  for (let windowStart = fromMs; windowStart < toMs; windowStart += windowMs) {
    const windowEnd = Math.min(toMs, windowStart + windowMs);
    let start = BigInt(windowStart) * NS_PER_MS;
    const end = BigInt(windowEnd) * NS_PER_MS;
    let boundary = new Set<string>();
    for (;;) {
      const params = new URLSearchParams({
        query,
        start: String(start),
        end: String(end),
        limit: String(pageSize),
        direction: 'forward',
      });
      const res = await fetch(`${base}/loki/api/v1/query_range?${params}`, { headers });
      if (!res.ok) throw new Error(`Loki answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const body = (await res.json()) as LokiStreams;
      if (body.status !== 'success' || body.data?.resultType !== 'streams') {
        throw new Error(`Loki's answer is not a log stream result (resultType ${body.data?.resultType})`);
      }
      const entries: {
        ts: bigint;
        key: string;
        stream: Record<string, string>;
        line: string;
        meta?: Record<string, string>;
      }[] = [];
      for (const { stream, values } of body.data.result) {
        const labels = JSON.stringify(stream);
        for (const value of values) {
          const [ts, line, categories] = value;
          const meta = categories ? { ...categories.structuredMetadata, ...categories.parsed } : undefined;
          entries.push({
            ts: BigInt(ts),
            // Structured metadata is part of an entry's identity: OTLP records often share a message.
            key: `${ts}\u0000${labels}\u0000${line}\u0000${meta ? JSON.stringify(meta) : ''}`,
            stream,
            line,
            ...(meta ? { meta } : {}),
          });
        }
      }
      entries.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
      let fresh = 0;
      for (const entry of entries) {
        if (boundary.has(entry.key)) continue;
        n++;
        fresh++;
        yield { line: n, parsed: entryOf(entry.stream, entry.line, entry.meta, Number(entry.ts / NS_PER_MS), n) };
      }
      const last = entries.at(-1);
      if (entries.length < pageSize || !last) break;
      // The next page starts at the last nanosecond read; what was read of it is skipped then.
      const atLast = entries.filter((e) => e.ts === last.ts).map((e) => e.key);
      if (last.ts !== start) {
        start = last.ts;
        boundary = new Set(atLast);
      } else if (fresh > 0) {
        for (const key of atLast) boundary.add(key);
      } else {
        // More than a page of entries share one nanosecond and this page brought none new: Loki
        // cannot page within it, so step past it.
        start = last.ts + 1n;
        boundary = new Set();
      }
      onProgress?.((Number(last.ts / NS_PER_MS) - fromMs) / Math.max(1, toMs - fromMs));
    }
    onProgress?.((windowEnd - fromMs) / Math.max(1, toMs - fromMs));
  }
}
