import type { RecordedAnswer } from '@flashcase/fake-openai';
import { readUntil } from '@flashcase/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OpenStreams } from '../../src/concurrency/open-streams';
import { billOf } from '../helpers/bill';
import { type Harness, startHarness } from '../helpers/harness';

/** What one stream's client saw: the answer's id, the usage chunk if any, and how it ended. */
interface Seen {
  userId: string;
  id?: string;
  usageSeen: boolean;
  errorCode?: string;
  done: boolean;
  aborted: boolean;
}

/**
 * A `chat/completions` stream read event by event; `abortAfter` deltas, the client leaves. Never
 * throws (an abort is what it reports).
 */
async function stream(h: Harness, userId: string, maxTokens: number, abortAfter?: number): Promise<Seen> {
  const seen: Seen = { userId, usageSeen: false, done: false, aborted: false };
  const leaving = new AbortController();
  try {
    const res = await h.post(
      '/api/v1/ai/chat/completions',
      {
        model: 'grok-4-fast',
        max_tokens: maxTokens,
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: `what ${userId} asks` }],
      },
      userId,
    );
    if (res.status !== 200) {
      seen.errorCode = ((await res.json()) as { error: { code: string } }).error.code;
      return seen;
    }
    // fetch's own signal is not used: the abort happens mid-body, from the reader.
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    let deltas = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let end = buffered.indexOf('\n\n');
      while (end !== -1) {
        const data = buffered.slice(0, end).replace(/^data: /, '');
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf('\n\n');
        if (data === '[DONE]') {
          seen.done = true;
          continue;
        }
        const event = JSON.parse(data) as {
          id?: string;
          usage?: unknown;
          choices?: unknown[];
          error?: { code: string };
        };
        if (event.error) seen.errorCode = event.error.code;
        if (event.id) seen.id = event.id;
        if (event.usage) seen.usageSeen = true;
        if (event.choices?.length) deltas += 1;
      }
      if (abortAfter !== undefined && deltas >= abortAfter) {
        seen.aborted = true;
        leaving.abort();
        await reader.cancel();
        break;
      }
    }
  } catch {
    seen.aborted = true;
  }
  return seen;
}

interface UsageRecord {
  user_id: string;
  tokens_used: number;
  tokens_estimated: boolean;
  outcome: string;
}

/** Every `ai_usage` record for these users, once each has at least one. */
async function records(h: Harness, users: readonly string[]): Promise<Map<string, UsageRecord[]>> {
  const wanted = new Set(users);
  const byUser = await readUntil(
    async () => {
      const found = new Map<string, UsageRecord[]>();
      for (const line of h.logs.json()) {
        if (line.record_type !== 'ai_usage' || !wanted.has(String(line.user_id))) continue;
        const list = found.get(String(line.user_id)) ?? [];
        list.push(line as unknown as UsageRecord);
        found.set(String(line.user_id), list);
      }
      return found;
    },
    (found) => found.size === wanted.size,
  );
  return byUser;
}

/** The tokens the upstream's usage of `answer` says, read off the wire. */
function wireTokens(answer: RecordedAnswer): number {
  const bill = billOf([answer]);
  return bill.promptTokens + bill.completionTokens;
}

async function gauge(h: Harness): Promise<number> {
  const point = (await h.points()).find((p) => p.name === 'flashcase.ai.streams.active');
  return (point?.value as number | undefined) ?? 0;
}

async function totals(h: Harness): Promise<{ total_requests: number; total_tokens: number }> {
  const res = await fetch(`${h.base}/api/v1/ai/usage`, { headers: h.as('admin', 'admin') });
  return ((await res.json()) as { usage: { total_requests: number; total_tokens: number } }).usage;
}

/** Timers this process holds (`setTimeout`/`setInterval`), to see that none is left per stream. */
function timers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

/** Every stream's usage counted once: exact where the upstream sent it, estimated where not. */
function expectCountedOnce(seen: readonly Seen[], byUser: Map<string, UsageRecord[]>, answers: RecordedAnswer[]) {
  const answerOf = new Map(answers.map((a) => [a.id, a]));
  for (const s of seen) {
    const list = byUser.get(s.userId) ?? [];
    expect(list, s.userId).toHaveLength(1);
    const record = list[0] as UsageRecord;
    const answer = s.id ? answerOf.get(s.id) : undefined;
    if (answer?.usage !== undefined) {
      expect(record.tokens_estimated, s.userId).toBe(false);
      expect(record.tokens_used, s.userId).toBe(wireTokens(answer));
    } else {
      // Estimated from the prompt and what was generated (nothing at all if no text came yet).
      expect(record.tokens_estimated, s.userId).toBe(true);
    }
  }
}

describe('streams that end badly, at scale', () => {
  let h: Harness;
  const openStreams = new OpenStreams();
  beforeAll(async () => {
    h = await startHarness({
      openStreams,
      env: { AI_STREAM_IDLE_TIMEOUT_MS: '300', RATE_LIMIT_AI_PER_MINUTE: '0', RATE_LIMIT_AI_PER_HOUR: '0' },
      fake: { replyTokens: 24 },
    });
  });
  afterEach(() => h.fake.setBehavior({ kind: 'ok' }));
  afterAll(() => h.close());

  it('counts each of 200 streams exactly once when half their clients leave mid-stream, and leaks no stream or timer', async () => {
    const timersBefore = timers();
    h.fake.reset();
    h.fake.setBehavior({ kind: 'ok', chunkDelayMs: 15 });
    const seen = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        stream(h, `storm-${i}`, 24, i % 2 === 0 ? 1 + Math.floor(Math.random() * 20) : undefined),
      ),
    );
    const completed = seen.filter((s) => !s.aborted);
    expect(completed).toHaveLength(100);
    expect(completed.every((s) => s.done && s.usageSeen && s.errorCode === undefined)).toBe(true);
    const byUser = await records(
      h,
      seen.map((s) => s.userId),
    );
    expectCountedOnce(seen, byUser, h.fake.answers);
    const left = seen.filter((s) => s.aborted).map((s) => byUser.get(s.userId)?.[0]);
    expect(left.some((r) => r?.outcome === 'client_closed' && r.tokens_estimated)).toBe(true);
    const sum = [...byUser.values()].reduce((total, [r]) => total + (r?.tokens_used ?? 0), 0);
    expect(await totals(h)).toMatchObject({ total_requests: 200, total_tokens: sum });
    await readUntil(
      () => gauge(h),
      (value) => value === 0,
    );
    expect(openStreams.size).toBe(0);
    expect(h.provider.connections.active).toBe(0);
    await readUntil(
      async () => timers(),
      (count) => count <= timersBefore,
    );
  });

  it('ends 50 streams whose upstream stalls with an in-band upstream_timeout each, usage estimated once', async () => {
    const before = await totals(h);
    h.fake.setBehavior({ kind: 'stall-stream', afterChunks: 3 });
    const seen = await Promise.all(Array.from({ length: 50 }, (_, i) => stream(h, `stall-${i}`, 24)));
    expect(seen.every((s) => s.errorCode === 'upstream_timeout' && !s.done && !s.usageSeen)).toBe(true);
    const byUser = await records(
      h,
      seen.map((s) => s.userId),
    );
    expectCountedOnce(seen, byUser, h.fake.answers);
    expect([...byUser.values()].every(([r]) => r?.outcome === 'upstream_timeout' && r.tokens_used > 0)).toBe(true);
    const sum = [...byUser.values()].reduce((total, [r]) => total + (r?.tokens_used ?? 0), 0);
    expect(await totals(h)).toMatchObject({
      total_requests: before.total_requests + 50,
      total_tokens: before.total_tokens + sum,
    });
    await readUntil(
      () => gauge(h),
      (value) => value === 0,
    );
    expect(openStreams.size).toBe(0);
  });

  it('lets short streams finish at shutdown, then ends the long ones in-band, each counted once', async () => {
    const before = await totals(h);
    h.fake.setBehavior({ kind: 'ok', chunkDelayMs: 40 });
    const short = Array.from({ length: 40 }, (_, i) => stream(h, `drain-short-${i}`, 2));
    const long = Array.from({ length: 60 }, (_, i) => stream(h, `drain-long-${i}`, 24));
    const finished = await Promise.all(short);
    expect(finished.every((s) => s.done && s.usageSeen)).toBe(true);
    // The drain has run out: what is still open ends now.
    await readUntil(
      async () => openStreams.size,
      (size) => size === 60,
    );
    openStreams.endAll();
    const cut = await Promise.all(long);
    expect(cut.every((s) => s.errorCode === 'service_unavailable' && !s.done)).toBe(true);
    const seen = [...finished, ...cut];
    const byUser = await records(
      h,
      seen.map((s) => s.userId),
    );
    expectCountedOnce(seen, byUser, h.fake.answers);
    const sum = [...byUser.values()].reduce((total, [r]) => total + (r?.tokens_used ?? 0), 0);
    expect(await totals(h)).toMatchObject({
      total_requests: before.total_requests + 100,
      total_tokens: before.total_tokens + sum,
    });
    await readUntil(
      () => gauge(h),
      (value) => value === 0,
    );
    // A stream asked for after that is refused at once, before any byte of SSE.
    const late = await stream(h, 'drain-late', 2);
    expect(late.errorCode).toBe('service_unavailable');
  });
});
