/**
 * The streaming client: N concurrent chat completions with `stream: true`, opened evenly over a
 * ramp, each on its own socket (an agent with N sockets, so the client is never the queue), every
 * SSE event timed as it arrives. Every stream is bounded by a deadline.
 */
import { Agent, request } from 'node:http';
import { CHAT_BODY, type Endpoint } from '../load.ts';
import type { StreamRecord } from './pacing.ts';

export interface OpenStreamsOptions {
  n: number;
  /** Streams are started evenly over this many ms. */
  rampMs: number;
  /** A stream still open this long after it was sent is destroyed and counted as failed. */
  deadlineMs: number;
  /**
   * Called once, when every stream has its first byte or has failed (or `rampMs` + 5 s after the
   * start, whichever is first), with how many are open: the moment to sample memory at N open.
   */
  onAllOpen?: (open: number) => void;
}

const BODY = JSON.stringify({ ...CHAT_BODY, stream: true, stream_options: { include_usage: true } });
const DONE = 'data: [DONE]';

/** Opens the streams, reads them to the end and returns what each one did, in start order. */
export async function openStreams(endpoint: Endpoint, options: OpenStreamsOptions): Promise<StreamRecord[]> {
  const { n, rampMs, deadlineMs } = options;
  const url = new URL(endpoint.url);
  const agent = new Agent({ keepAlive: false, maxSockets: n });
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(BODY)),
    accept: 'text/event-stream',
    ...endpoint.headers,
  };
  let settledOrOpen = 0;
  let reported = false;
  let open = 0;
  const report = () => {
    if (reported) return;
    reported = true;
    options.onAllOpen?.(open);
  };
  const fallback = setTimeout(report, rampMs + 5000);
  const one = (): Promise<StreamRecord> =>
    new Promise((resolve) => {
      const started = performance.now();
      const record: StreamRecord = { status: 0, done: false, ttfbMs: Number.NaN, eventsMs: [] };
      let carry = '';
      let last = '';
      let finished = false;
      let counted = false;
      const count = (wasOpen: boolean) => {
        if (counted) return;
        counted = true;
        if (wasOpen) open++;
        if (++settledOrOpen === n) report();
      };
      const finish = (error?: string) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        if (error !== undefined) record.error = error;
        record.done = last === DONE;
        if (Number.isFinite(record.ttfbMs)) open--;
        count(false);
        resolve(record);
      };
      const req = request(
        { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
        (res) => {
          record.status = res.statusCode ?? 0;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            const now = performance.now() - started;
            if (!Number.isFinite(record.ttfbMs)) {
              record.ttfbMs = now;
              count(true);
            }
            carry += chunk;
            let end = carry.indexOf('\n\n');
            while (end >= 0) {
              const event = carry.slice(0, end).trim();
              carry = carry.slice(end + 2);
              if (event.startsWith('data:')) {
                record.eventsMs.push(now);
                last = event;
              }
              end = carry.indexOf('\n\n');
            }
          });
          res.on('end', () => finish());
          res.on('error', (err) => finish(err.message));
        },
      );
      const timer = setTimeout(() => req.destroy(new Error(`no end within ${deadlineMs} ms`)), deadlineMs);
      req.on('error', (err) => finish(err.message));
      req.end(BODY);
    });
  const streams: Promise<StreamRecord>[] = [];
  const t0 = performance.now();
  // Started in small batches on a timer: one timer per stream would be N timers for nothing.
  const batches = Math.max(1, Math.min(n, Math.round(rampMs / 10)));
  for (let b = 0; b < batches; b++) {
    const due = (b * rampMs) / batches;
    const wait = due - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const upTo = Math.round(((b + 1) * n) / batches);
    while (streams.length < upTo) streams.push(one());
  }
  const records = await Promise.all(streams);
  clearTimeout(fallback);
  report();
  agent.destroy();
  return records;
}
