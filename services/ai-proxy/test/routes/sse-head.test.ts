import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness';

/** Resolves to what came first: `promise`'s value, or 'timed out' after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  return Promise.race([promise, new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), ms))]);
}

describe("an SSE answer's head", () => {
  let h: Harness;

  beforeAll(async () => {
    // Idle timeout far beyond the wait below: only the head's own flush can answer in time.
    h = await startHarness({ env: { AI_STREAM_IDLE_TIMEOUT_MS: '30000' } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('reaches the client once the upstream began, though nothing the route relays has come yet', async () => {
    // The role chunk only, then silence (a reasoning model thinking): `chat` relays content deltas,
    // so no event is written, and the head must go out alone.
    h.fake.setBehavior({ kind: 'stall-stream', afterChunks: 0 });
    const answer = h.post(
      '/api/v1/ai/chat',
      { messages: [{ role: 'user', content: 'What is ATP?' }], stream: true },
      'student-1',
    );
    const res = await within(answer, 3000);
    expect(res).not.toBe('timed out');
    const head = res as Response;
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await head.body?.cancel();
    h.fake.setBehavior({ kind: 'ok' });
  });
});
