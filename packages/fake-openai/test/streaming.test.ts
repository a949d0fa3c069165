import { afterEach, describe, expect, it } from 'vitest';
import type { Behavior } from '../src/behavior';
import { fakeAnswer } from '../src/choices';
import { fakeCompletion } from '../src/completion';
import { Delays } from '../src/delays';
import { type StreamReply, sendStream } from '../src/streaming';
import { layoutOf } from '../src/wire';
import { type Loopback, serve } from './helpers/loopback';
import { readUntilQuiet, sseData } from './helpers/sse';

const messages = [{ role: 'user', content: 'one two three four five' }];
const plain = fakeCompletion(messages, {});
const meta = { id: 'chatcmpl-test', created: 1_700_000_000, model: 'grok-4' };

let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Streams `reply` with `behavior` on a loopback server; what the client read, and what was sent as usage. */
async function stream(reply: StreamReply, behavior: Behavior, includeUsage = true, quietMs = 300) {
  const sent: unknown[] = [];
  server = await serve((_req, res) =>
    sendStream(res, reply, {
      meta,
      requestId: 'req_test',
      includeUsage,
      behavior,
      usage: () => ({ total_tokens: 42 }),
      sent: (usage) => sent.push(usage),
      delays: new Delays(),
    }),
  );
  const res = await fetch(server.url);
  const read = await readUntilQuiet(res.body as ReadableStream<Uint8Array>, quietMs);
  return { res, ...read, sent };
}

const parsed = (text: string) => sseData(text).map((data) => (data === '[DONE]' ? data : JSON.parse(data)));

describe('streaming an answer', () => {
  it('sends the role, a chunk per piece, the finish, the usage and [DONE], as SSE', async () => {
    const { res, text, ended, sent } = await stream({ plain }, { kind: 'ok' });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('x-request-id')).toBe('req_test');
    expect(ended).toBe(true);
    const events = parsed(text);
    expect(events[0].choices[0].delta).toMatchObject({ role: 'assistant', content: '' });
    const content = events.slice(1, 1 + plain.pieces.length).map((e) => e.choices[0].delta.content);
    expect(content).toEqual(plain.pieces);
    expect(events[1 + plain.pieces.length].choices[0].finish_reason).toBe(plain.finishReason);
    expect(events.at(-2)).toMatchObject({ choices: [], usage: { total_tokens: 42 } });
    expect(events.at(-1)).toBe('[DONE]');
    expect(sent).toEqual([{ total_tokens: 42 }]);
  });

  it('sends no usage chunk without include_usage, or with no-usage', async () => {
    for (const [behavior, includeUsage] of [
      [{ kind: 'ok' }, false],
      [{ kind: 'no-usage' }, true],
    ] as const) {
      const { text, sent } = await stream({ plain }, behavior, includeUsage);
      expect(parsed(text).some((e) => typeof e === 'object' && 'usage' in e && e.usage !== null)).toBe(false);
      expect(sent).toEqual([]);
      await server?.close();
      server = undefined;
    }
  });

  it('stalls after afterChunks content chunks, without finish, usage or [DONE]', async () => {
    const { text, ended, sent } = await stream({ plain }, { kind: 'stall-stream', afterChunks: 2 }, true, 200);
    expect(ended).toBe(false);
    const events = parsed(text);
    expect(events).toHaveLength(3);
    expect(events.slice(1).map((e) => e.choices[0].delta.content)).toEqual(plain.pieces.slice(0, 2));
    expect(sent).toEqual([]);
  });

  it('resets the connection after afterChunks content chunks', async () => {
    server = await serve((_req, res) =>
      sendStream(
        res,
        { plain },
        {
          meta,
          requestId: 'req_test',
          includeUsage: true,
          behavior: { kind: 'reset-mid-stream', afterChunks: 1 },
          usage: () => ({}),
          sent: () => {},
          delays: new Delays(),
        },
      ),
    );
    const res = await fetch(server.url);
    await expect(res.text()).rejects.toThrow();
  });

  it('sends a cut-off chunk for malformed-json, then [DONE]', async () => {
    const { text } = await stream({ plain }, { kind: 'malformed-json' });
    const events = text.split('\n\n').filter(Boolean);
    expect(events).toHaveLength(3);
    expect(() => JSON.parse(events[1]?.slice('data: '.length) ?? '')).toThrow();
    expect(events[2]).toBe('data: [DONE]');
  });

  it("spaces the content chunks by an ok behaviour's chunkDelayMs", async () => {
    const started = performance.now();
    const { text, ended } = await stream({ plain }, { kind: 'ok', chunkDelayMs: 30 });
    expect(ended).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(30 * plain.pieces.length);
    expect(parsed(text).at(-1)).toBe('[DONE]');
  });

  it('interleaves the chunks of every choice of an answer with features', async () => {
    const features = { n: 2, calls: [], format: { kind: 'text' as const }, logprobs: false, topLogprobs: 0 };
    const full = fakeAnswer(messages, features, {});
    const { text } = await stream({ full, layout: layoutOf(features, 'xai') }, { kind: 'ok' });
    const events = parsed(text).filter((e) => typeof e === 'object' && e.choices.length > 0);
    const finishes = events.filter((e) => e.choices[0].finish_reason !== null).map((e) => e.choices[0].index);
    expect(finishes.sort()).toEqual([0, 1]);
    expect(events[0].choices[0].index).toBe(0);
    expect(events[1].choices[0].index).toBe(1);
  });
});
