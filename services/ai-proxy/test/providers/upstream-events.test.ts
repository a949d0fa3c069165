import { describe, expect, it } from 'vitest';
import { UpstreamEvents } from '../../src/providers/upstream-events';

function readAll(pieces: string[]) {
  const events = new UpstreamEvents('outside', 200);
  const out = [];
  for (const piece of pieces) {
    events.push(Buffer.from(piece));
    for (let chunk = events.next(); chunk !== undefined; chunk = events.next()) out.push(chunk);
  }
  return { events, out };
}

describe('upstream SSE events', () => {
  const first = 'data: {"id":"c1","model":"grok-4","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n';
  const finish = 'data:{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\r\n\r\n';
  const usage = 'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\n';

  it('hands each event on with its own bytes as they came, and reads what accounting needs', () => {
    const { events, out } = readAll([`: keep-alive\n\n${first}${finish}${usage}data: [DONE]\n\n`]);
    expect(out.map((c) => c.wire.toString())).toEqual([first, finish, usage]);
    expect(out[0]).toMatchObject({ id: 'c1', model: 'grok-4', delta: 'Hi', generated: 'Hi', usageOnly: false });
    expect(out[1]?.finishes).toEqual([{ index: 0, reason: 'stop' }]);
    expect(out[2]).toMatchObject({ usageOnly: true, usage: { promptTokens: 3, completionTokens: 1 } });
    expect(events.done).toBe(true);
    expect(events.sawUsage).toBe(true);
  });

  it('joins an event split across pieces, and ends one whose blank line has not come yet', () => {
    const { out } = readAll([first.slice(0, 20), first.slice(20, -1), '\n', usage]);
    expect(out.map((c) => c.wire.toString())).toEqual([first, usage]);
  });

  it('fails on an event that is not JSON, and on an in-band error', () => {
    expect(() => readAll(['data: {"id":\n\n'])).toThrow(/malformed stream event/);
    expect(() => readAll(['data: {"error":{"message":"overloaded"}}\n\n'])).toThrow(/error mid-stream/);
  });
});
