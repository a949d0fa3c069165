import { invalidReason, normalizeUsage, type ReasoningRule } from '../usage/normalize';
import { readChunk } from './answers';
import type { OpenAIChunk, StreamChunk } from './provider';
import { UpstreamError } from './upstream-error';

const NEWLINE = 0x0a;
const CR = 0x0d;
const EVENT_END = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);

/** Whether `buf[start..end)` is a `data:` line (the only lines an OpenAI stream's events carry). */
function isDataLine(buf: Buffer, start: number, end: number): boolean {
  return (
    end - start >= 5 &&
    buf[start] === 0x64 && // d
    buf[start + 1] === 0x61 && // a
    buf[start + 2] === 0x74 && // t
    buf[start + 3] === 0x61 && // a
    buf[start + 4] === 0x3a // :
  );
}

/**
 * An upstream's OpenAI SSE body read as it arrives, one `data:` event at a time, on the bytes: each
 * event is parsed for what accounting reads of it (usage, finish reasons, the generated text, id
 * and model) and handed on with `wire`, its own bytes as the upstream sent them (the data line and
 * the blank line that ends it, a view into the piece, not a copy), so the relay never serialises
 * JSON. `[DONE]` is not handed on (the route ends the stream itself), nor comments or other fields.
 *
 * Edge cases: a line split across two pieces is joined (the one copy made, rare: upstreams send
 * whole events); a data line whose blank line has not arrived yet gets a `\n` of its own (the
 * later blank line is then skipped); `\r\n` line ends are relayed as they came.
 *
 * Throws {@link UpstreamError} `malformed` for an event that is not a JSON object and `status` for
 * an in-band `error` event.
 */
export class UpstreamEvents {
  /** The piece being read, and where its next line starts. */
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** `[DONE]` came: the answer is complete. */
  done = false;
  /** A usage chunk came (an answer with it but without `[DONE]` is complete too). */
  sawUsage = false;

  constructor(
    private readonly rule: ReasoningRule,
    private readonly status: number,
  ) {}

  /** Adds the next piece of the body (what is left of the last one is kept in front of it). */
  push(piece: Buffer): void {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), piece]) : piece;
    this.pos = 0;
  }

  /** The next complete event of what was pushed, or undefined until more arrives (or after `[DONE]`). */
  next(): StreamChunk | undefined {
    const buf = this.buf;
    while (!this.done) {
      const start = this.pos;
      const newline = buf.indexOf(NEWLINE, start);
      if (newline === -1) {
        // Nothing of this piece is kept once it is read (an open stream holds no bytes between chunks).
        if (start === buf.length) {
          this.buf = EMPTY;
          this.pos = 0;
        }
        return undefined;
      }
      this.pos = newline + 1;
      const end = newline > start && buf[newline - 1] === CR ? newline - 1 : newline;
      if (!isDataLine(buf, start, end)) continue;
      const data = buf.toString('utf8', start + 5, end).trim();
      if (data === '[DONE]') {
        this.done = true;
        return undefined;
      }
      if (data.length === 0) continue;
      const chunk = this.parse(data);
      // The event's own bytes up to the blank line that ends it, when that is here already.
      let close = this.pos;
      if (buf[close] === NEWLINE) close += 1;
      else if (buf[close] === CR && buf[close + 1] === NEWLINE) close += 2;
      const wire =
        close > this.pos ? buf.subarray(start, close) : Buffer.concat([buf.subarray(start, this.pos), EVENT_END]);
      this.pos = close;
      const usage = normalizeUsage(chunk.usage, this.rule);
      if (usage) this.sawUsage = true;
      return readChunk(chunk, wire, usage, usage ? undefined : invalidReason(chunk.usage));
    }
    return undefined;
  }

  private parse(data: string): OpenAIChunk {
    let chunk: OpenAIChunk;
    try {
      chunk = JSON.parse(data);
    } catch (err) {
      throw new UpstreamError('malformed', 'Upstream sent a malformed stream event', this.status, undefined, {
        cause: err,
      });
    }
    if (chunk === null || typeof chunk !== 'object') {
      throw new UpstreamError('malformed', 'Upstream sent a stream event that is not an object', this.status);
    }
    if ('error' in chunk) throw new UpstreamError('status', 'Upstream reported an error mid-stream', this.status);
    return chunk;
  }
}
