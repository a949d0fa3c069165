import type { ServerResponse } from 'node:http';

/** The Content-Type express's `res.json` sets, and so every JSON answer of ours. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Sends `body` as a JSON answer: what `res.status(status).json(body)` sends for our answers (same
 * Content-Type, Content-Length, no body on HEAD), without express's path to it.
 *
 * NOTE: why not `res.json`: on ai-proxy's answer path it was about 5 % of the service's CPU besides
 * the socket write: the Content-Type is set through `res.set`, which parses it, looks its charset up
 * in mime-db and formats it again, then `res.send` parses and formats it a second time and checks
 * freshness, for a header that is always this one. (ETags are off in every service.)
 */
export function sendJson(res: ServerResponse, body: unknown, status = res.statusCode): void {
  sendJsonText(res, JSON.stringify(body), status);
}

/** Sends `text`, already JSON (an upstream's answer relayed as it came), as {@link sendJson} would. */
export function sendJsonText(res: ServerResponse, text: string, status = res.statusCode): void {
  res.statusCode = status;
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
