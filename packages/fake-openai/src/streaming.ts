import type { ServerResponse } from 'node:http';
import type { Behavior } from './behavior';
import type { FakeAnswer } from './choices';
import type { FakeCompletion } from './completion';
import type { Delays } from './delays';
import { breakOff } from './http';
import {
  type AnswerLayout,
  type AnswerMeta,
  ChunkWriter,
  DONE_EVENT,
  type StreamedAnswer,
  streamedAnswer,
} from './wire';

/** The headers of every SSE answer. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};

/** One answer to stream: the plain text answer, or an answer with features and its layout. */
export type StreamReply =
  | { plain: FakeCompletion; full?: undefined; layout?: undefined }
  | { plain?: undefined; full: FakeAnswer; layout: AnswerLayout };

/** How one stream is sent. */
export interface StreamOptions {
  meta: AnswerMeta;
  /** `x-request-id` of the answer. */
  requestId: string;
  /** `stream_options.include_usage`: end with the usage chunk. */
  includeUsage: boolean;
  /** The behaviour the answer keeps, whatever `setBehavior` does while it streams. */
  behavior: Behavior;
  /** The usage to send; called only when the usage chunk is sent. */
  usage: () => unknown;
  /** Called once the usage chunk is on the wire (the whole stream written). */
  sent: (usage: unknown) => void;
  delays: Delays;
}

/**
 * Streams an answer as OpenAI's SSE: the role chunk (for an answer with features, every choice's
 * first chunk), the content chunks (interleaved by choice index), the finish chunk(s), the usage
 * chunk when asked for, then `data: [DONE]`. Written at once, or spaced by an `ok` behaviour's
 * `chunkDelayMs`; a `malformed-json` behaviour sends the role chunk and a cut-off chunk, a
 * `stall-stream` / `reset-mid-stream` one its first `afterChunks` content chunks and then goes
 * silent or resets; `no-usage` leaves the usage chunk out.
 */
export function sendStream(res: ServerResponse, reply: StreamReply, options: StreamOptions): void {
  const { meta, requestId, includeUsage, behavior: current, delays } = options;
  const { plain, full, layout } = reply;
  const chunks = new ChunkWriter(meta, includeUsage);
  res.writeHead(200, { ...SSE_HEADERS, 'x-request-id': requestId });
  if (current.kind === 'malformed-json') {
    res.end(chunks.role() + chunks.malformed() + DONE_EVENT);
    return;
  }
  // The plain answer's chunks are written straight from its pieces; an answer with features is
  // laid out first (head: every choice's first chunk; body: the rest, interleaved by index).
  const laidOut: StreamedAnswer | undefined =
    full === undefined ? undefined : streamedAnswer(chunks, full, layout as AnswerLayout);
  const head = laidOut === undefined ? chunks.role() : laidOut.head;
  const bodyLength = laidOut === undefined ? (plain as FakeCompletion).pieces.length : laidOut.body.length;
  const bodyChunk = (i: number): string =>
    laidOut === undefined ? chunks.content((plain as FakeCompletion).pieces[i] as string) : (laidOut.body[i] as string);
  if (current.kind === 'stall-stream' || current.kind === 'reset-mid-stream') {
    let partial = head;
    const sent = Math.min(current.afterChunks, bodyLength);
    for (let i = 0; i < sent; i++) partial += bodyChunk(i);
    breakOff(res, partial, current.kind === 'reset-mid-stream');
    return;
  }
  const withUsage = includeUsage && current.kind !== 'no-usage';
  const usage = withUsage ? options.usage() : undefined;
  let ending = laidOut === undefined ? chunks.finish((plain as FakeCompletion).finishReason) : laidOut.finish;
  if (withUsage) ending += chunks.usage(usage);
  ending += DONE_EVENT;

  const chunkDelayMs = current.kind === 'ok' ? (current.chunkDelayMs ?? 0) : 0;
  if (chunkDelayMs <= 0) {
    let all = head;
    if (plain !== undefined) {
      for (const piece of plain.pieces) all += chunks.content(piece);
    } else {
      for (const chunk of (laidOut as StreamedAnswer).body) all += chunk;
    }
    res.end(all + ending);
    if (withUsage) options.sent(usage);
    return;
  }
  res.write(head);
  let next = 0;
  const step = () => {
    if (next < bodyLength) {
      res.write(bodyChunk(next));
      next += 1;
      delays.after(res, chunkDelayMs, step);
    } else {
      res.end(ending);
      if (withUsage) options.sent(usage);
    }
  };
  delays.after(res, chunkDelayMs, step);
}
