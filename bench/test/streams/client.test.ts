import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStreams } from '../../src/streams/client.ts';
import { completed } from '../../src/streams/pacing.ts';

let fake: FakeOpenAI;
beforeAll(async () => {
  // The real fake, paced as the scenario's upstream is, with short streams.
  fake = await startFakeOpenAI({ record: false, replyTokens: 3, behavior: { kind: 'ok', chunkDelayMs: 300 } });
});
afterAll(() => fake.close());

describe('streaming client', () => {
  it('holds N streams open at once, each on its own socket, and times every SSE event to [DONE]', async () => {
    let openAtOnce = -1;
    const records = await openStreams(
      { url: `${fake.url}/chat/completions`, headers: {} },
      { n: 30, rampMs: 30, deadlineMs: 10_000, onAllOpen: (open) => (openAtOnce = open) },
    );
    expect(records).toHaveLength(30);
    expect(records.every(completed)).toBe(true);
    // Role, 3 content chunks, finish, usage, [DONE].
    expect(records.map((r) => r.eventsMs.length)).toEqual(Array(30).fill(7));
    for (const r of records) {
      expect(r.ttfbMs).toBeGreaterThan(0);
      expect(r.eventsMs).toEqual([...r.eventsMs].sort((x, y) => x - y));
    }
    // Streams last 1.2 s and open over 30 ms: all were open when the last first byte came.
    expect(openAtOnce).toBe(30);
  });

  it('records a refused or unreachable stream as failed, not as completed', async () => {
    fake.setBehavior({ kind: 'status', status: 503 });
    try {
      const refused = await openStreams(
        { url: `${fake.url}/chat/completions`, headers: {} },
        { n: 3, rampMs: 0, deadlineMs: 5000 },
      );
      expect(refused.map((r) => [r.status, completed(r)])).toEqual([
        [503, false],
        [503, false],
        [503, false],
      ]);
    } finally {
      fake.reset();
    }
    const down = await openStreams(
      { url: 'http://127.0.0.1:1/v1/chat/completions', headers: {} },
      { n: 2, rampMs: 0, deadlineMs: 5000 },
    );
    expect(down.every((r) => r.status === 0 && r.error !== undefined && !completed(r))).toBe(true);
  });
});
