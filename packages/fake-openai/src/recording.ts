import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UsageDialect } from './usage';

/** One chat completion the fake answered (an id was given out); see `FakeOpenAI.answers`. */
export interface RecordedAnswer {
  /** The answer's `chatcmpl-…` id. */
  id: string;
  model: string;
  stream: boolean;
  /** The dialect chosen for it (header, `dialectOf`, or the server's). */
  dialect: UsageDialect;
  /**
   * The exact usage value put on the wire (an `XaiUsage`, an `OpenAIUsage`, or the raw value of a
   * `usage` behaviour); undefined when none was: `no-usage`, a stream without
   * `stream_options.include_usage`, a cut-off answer (`stall-stream`, `reset-mid-stream`,
   * `malformed-json`), or a delayed stream its client left before the end.
   */
  usage: unknown;
}

/** What the fake has billed: the xAI answers whose usage, with a `cost_in_usd_ticks`, was sent. */
export interface Billed {
  calls: number;
  /** The sum of their `cost_in_usd_ticks`. */
  ticks: bigint;
}

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  /** The request path without its query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Headers with lower-cased names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /**
   * The parsed JSON body, every field as sent (nothing is dropped or defaulted); the raw text when it
   * is not valid JSON; undefined when empty.
   */
  body: unknown;
  /**
   * The body exactly as received (UTF-8 decoded); '' when empty. For what parsing would blur: an
   * integer above 2^53 (a `seed`), a repeated key, the order and spacing of the keys.
   */
  rawBody: string;
  /** Set when the caller closed the connection before the answer was complete (an abandoned call). */
  abandoned?: boolean;
}

/**
 * What a fake has received, answered and billed. With `record` off the request and answer lists
 * stay empty (a long benchmark run would grow them without bound), but the bill is still kept.
 */
export class Recording {
  readonly requests: RecordedRequest[] = [];
  readonly answers: RecordedAnswer[] = [];
  private billedCalls = 0;
  private billedTicks = 0n;

  constructor(readonly record: boolean) {}

  /** A snapshot of the running bill. */
  get billed(): Billed {
    return { calls: this.billedCalls, ticks: this.billedTicks };
  }

  /** Records a request as received; it is marked `abandoned` if its response closes unfinished. */
  request(req: IncomingMessage, res: ServerResponse, path: string, body: unknown, rawBody: string): void {
    if (!this.record) return;
    const entry: RecordedRequest = { method: req.method ?? 'GET', path, headers: flatHeaders(req), body, rawBody };
    this.requests.push(entry);
    res.once('close', () => {
      if (!res.writableFinished) entry.abandoned = true;
    });
  }

  /** Records an answer as it starts (its `usage` is set when sent, see {@link sent}). */
  answer(answer: RecordedAnswer): void {
    if (this.record) this.answers.push(answer);
  }

  /** Marks `usage` as sent on `answer`, and bills `cost` (the answer's `cost_in_usd_ticks`), if any. */
  sent(answer: RecordedAnswer, usage: unknown, cost: bigint | undefined): void {
    answer.usage = usage;
    if (cost !== undefined) {
      this.billedCalls += 1;
      this.billedTicks += cost;
    }
  }

  /** Forgets every request, answer and billed call. */
  reset(): void {
    this.requests.length = 0;
    this.answers.length = 0;
    this.billedCalls = 0;
    this.billedTicks = 0n;
  }
}

/** The request's headers with repeated ones joined with `, ` (as `RecordedRequest.headers` has them). */
export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
