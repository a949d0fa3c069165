/**
 * How the fake answers `POST /v1/chat/completions`; switchable at runtime with `setBehavior`.
 * `GET /v1/models` and the 401/404/400 edge answers are not affected by it.
 *
 * - `ok`: a normal answer. `chunkDelayMs` spaces the stream's content chunks (non-streaming answers
 *   ignore it); 0 or absent writes the whole stream at once.
 * - `status`: answers `status` before any body is streamed (also for `stream: true`), with `body` as
 *   given or OpenAI's error JSON for that status (429 -> `rate_limit_exceeded`). `retryAfterS` adds a
 *   `Retry-After` header (in seconds, as OpenAI sends it).
 * - `malformed-json`: 200 with a truncated JSON body; a stream sends its role chunk, then one `data:`
 *   line whose JSON is cut off, then `data: [DONE]`.
 * - `slow-first-byte`: the normal answer, with headers and body held back for `delayMs` (on top of
 *   the server's `latencyMs`).
 * - `stall-stream`: a stream sends its role chunk and `afterChunks` content chunks, then nothing more,
 *   leaving the socket open until the client gives up or the fake closes. A non-streaming answer
 *   sends its headers and the first half of its body, then stalls the same way.
 * - `reset-mid-stream`: like `stall-stream`, but destroys the socket instead of going silent.
 * - `no-usage`: a stream never sends the usage chunk (even with `stream_options.include_usage`) but
 *   still ends with `data: [DONE]`; a non-streaming answer has no `usage` field.
 * - `usage`: the normal answer, but with `usage` replaced by exactly the given JSON value (in the
 *   usage chunk of a stream that asked for `stream_options.include_usage`, as the `usage` field of a
 *   non-streaming answer), for feeding a client malformed usage: negative numbers, totals that match
 *   no dialect, strings, `null`. `undefined` is sent as `null`. It must be JSON-serialisable
 *   (`setBehavior` throws otherwise) and is copied when set, so later changes to it do not leak in.
 * - `hang`: reads the request and never answers.
 *
 * If `afterChunks` is at least the reply's piece count, every content chunk is sent and the fault
 * happens before the finishing chunk.
 */
export type Behavior =
  | { kind: 'ok'; chunkDelayMs?: number }
  | { kind: 'status'; status: number; retryAfterS?: number; body?: string }
  | { kind: 'malformed-json' }
  | { kind: 'slow-first-byte'; delayMs: number }
  | { kind: 'stall-stream'; afterChunks: number }
  | { kind: 'reset-mid-stream'; afterChunks: number }
  | { kind: 'no-usage' }
  | { kind: 'usage'; usage: unknown }
  | { kind: 'hang' };

/** The behaviour a fake starts with when none is given: normal, undelayed answers. */
export const DEFAULT_BEHAVIOR: Behavior = Object.freeze({ kind: 'ok' });
