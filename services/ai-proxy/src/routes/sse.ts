import { flushHeadAtTurnEnd } from '@flashcase/telemetry';
import type { Response } from 'express';

/** The end of an OpenAI stream, written once per stream from one shared Buffer. */
const DONE_EVENT = Buffer.from('data: [DONE]\n\n');

/**
 * Starts a Server-Sent Events answer (no buffering by proxies, no compression). The head goes out
 * with the first event written in this turn, in one write (the relay starts the answer right
 * before its first chunk), or alone at the turn's end when none was (a chunk this route does not
 * relay, such as a reasoning model's first): a client always has the head once the upstream began.
 */
export function startSse(res: Response, headers: Record<string, string>): void {
  if (res.headersSent) return;
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  flushHeadAtTurnEnd(res);
}

/**
 * Writes bytes already framed as SSE (an upstream's event, relayed as it came). Returns a promise
 * when the client's socket is full, settled on `drain` (or when the client goes): the caller stops
 * reading the upstream until then, so a slow client holds back the upstream instead of growing
 * this process's buffers. Undefined (nothing to wait for) otherwise: no allocation per chunk.
 */
export function writeFrame(res: Response, frame: Buffer | string): Promise<void> | undefined {
  if (res.writableEnded || res.destroyed) return undefined;
  if (res.write(frame)) return undefined;
  return drainedOrClosed(res);
}

/** Until the client takes more (`drain`) or has gone (`close`: a drain would never come). */
export function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Writes one `data:` event of our own (JSON, or a bare word); see {@link writeFrame} for the result. */
export function sendEvent(res: Response, data: unknown): Promise<void> | undefined {
  return writeFrame(res, `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/** Writes an OpenAI stream's final `data: [DONE]`. */
export function sendDone(res: Response): void {
  writeFrame(res, DONE_EVENT);
}

/**
 * An AbortController aborted when the client goes away before the answer ends (its signal is what
 * the upstream call runs under; a stream's is also what shutdown aborts, see `OpenStreams`).
 */
export function clientGone(res: Response): AbortController {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableEnded) controller.abort();
  });
  return controller;
}
