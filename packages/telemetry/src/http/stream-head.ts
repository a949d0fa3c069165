import type { ServerResponse } from 'node:http';

function flushHead(res: ServerResponse): void {
  if (!res.writableEnded && !res.destroyed) res.flushHeaders();
}

/**
 * Sends a streamed answer's head (already set with `writeHead`) at the end of this event-loop turn
 * unless a write sent it with itself before: the head and the first event go out in one write when
 * the event comes in the same turn, and the head alone when it does not (a flush after a write is
 * a no-op).
 */
export function flushHeadAtTurnEnd(res: ServerResponse): void {
  setImmediate(flushHead, res);
}
