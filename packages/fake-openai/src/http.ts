import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorJson } from './wire';

/** The largest request body the fake reads; a larger one is answered 413 and its socket closed. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The content type of every JSON answer. */
export const JSON_TYPE = 'application/json';

/** Sends `json` with `status`, its exact length, and any `extra` headers. */
export function sendJson(res: ServerResponse, status: number, json: string, extra?: Record<string, string>): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(json), ...extra });
  res.end(json);
}

/** OpenAI's 400 `invalid_request_error`, naming the parameter (`null` for the body as a whole). */
export function sendInvalid(
  res: ServerResponse,
  message: string,
  param: string | null,
  code: string | null = null,
): void {
  sendJson(res, 400, errorJson(message, 'invalid_request_error', param, code));
}

/**
 * Reads the request body as UTF-8 text and hands it to `onBody`; a body over `maxBytes` is answered
 * 413 (with `connection: close`) as soon as it crosses the limit, the request is destroyed, and
 * `onBody` is never called.
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  onBody: (raw: string) => void,
  maxBytes = MAX_BODY_BYTES,
): void {
  const parts: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) {
      if (!res.headersSent) {
        sendJson(res, 413, errorJson('Request body too large.', 'invalid_request_error'), { connection: 'close' });
      }
      req.destroy();
      return;
    }
    parts.push(chunk);
  });
  req.on('end', () => {
    if (size > maxBytes) return;
    onBody(parts.length === 1 ? (parts[0] as Buffer).toString() : Buffer.concat(parts).toString());
  });
}

/**
 * Writes `data`, then either leaves the answer open forever (`reset` false: a stall, until the
 * client gives up or the fake closes) or destroys its socket once the data is written.
 */
export function breakOff(res: ServerResponse, data: string, reset: boolean): void {
  if (!reset) {
    res.write(data);
    return;
  }
  res.write(data, () => res.socket?.destroy());
}
