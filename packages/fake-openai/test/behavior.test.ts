import OpenAI from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeOpenAI, fakeCompletion, startFakeOpenAI } from '../src/index';
import { readUntilQuiet, sseData } from './helpers/sse';

const MODEL = 'grok-3';
const messages = [{ role: 'user' as const, content: 'one two three four five six' }];
const pieces = fakeCompletion(messages).pieces; // 8 pieces

describe('fault behaviours', () => {
  let fake: FakeOpenAI;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    client = new OpenAI({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, logLevel: 'off' });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  const post = (body: object, init: RequestInit = {}) =>
    fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages, ...body }),
      ...init,
    });

  describe('status', () => {
    it('answers 429 with Retry-After and OpenAI’s rate-limit error, which the SDK raises as RateLimitError', async () => {
      fake.setBehavior({ kind: 'status', status: 429, retryAfterS: 7 });
      const err = await client.chat.completions.create({ model: MODEL, messages }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'requests' });
      expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('7');
    });

    it('answers 500 and 503 as server errors, before a stream starts too', async () => {
      for (const status of [500, 503]) {
        fake.setBehavior({ kind: 'status', status });
        const err = await client.chat.completions
          .create({ model: MODEL, messages, stream: true })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.InternalServerError);
        expect(err).toMatchObject({ status, type: 'server_error' });
      }
    });

    it('sends a given body verbatim', async () => {
      fake.setBehavior({ kind: 'status', status: 502, body: '{"error":{"message":"upstream","type":"x"}}' });
      const res = await post({});
      expect(res.status).toBe(502);
      expect(await res.text()).toBe('{"error":{"message":"upstream","type":"x"}}');
    });

    it('lets the SDK wait out Retry-After and then succeed', async () => {
      fake.setBehavior({ kind: 'status', status: 429, retryAfterS: 1 });
      setTimeout(() => fake.setBehavior({ kind: 'ok' }), 100);
      const retrying = new OpenAI({ baseURL: fake.url, apiKey: 'k', maxRetries: 1 });
      const started = performance.now();
      const completion = await retrying.chat.completions.create({ model: MODEL, messages });
      expect(performance.now() - started).toBeGreaterThanOrEqual(900);
      expect(completion.choices[0]?.message.content).toBe(pieces.join(''));
      expect(fake.requests).toHaveLength(2);
    });
  });

  describe('malformed-json', () => {
    it('sends a 200 whose JSON body is cut off', async () => {
      fake.setBehavior({ kind: 'malformed-json' });
      const res = await post({});
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text.startsWith('{"id":"chatcmpl-')).toBe(true);
      expect(() => JSON.parse(text)).toThrow(SyntaxError);
      await expect(client.chat.completions.create({ model: MODEL, messages })).rejects.toThrow();
    });

    it('sends a stream data line with invalid JSON, which fails the SDK’s stream', async () => {
      fake.setBehavior({ kind: 'malformed-json' });
      const data = sseData(await (await post({ stream: true })).text());
      expect(data).toHaveLength(3);
      expect(() => JSON.parse(data[1] as string)).toThrow(SyntaxError);
      expect(data[2]).toBe('[DONE]');

      const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true });
      await expect(async () => {
        for await (const _ of stream);
      }).rejects.toThrow();
    });
  });

  describe('slow-first-byte', () => {
    it('holds headers and body back for delayMs, tripping a shorter SDK timeout', async () => {
      fake.setBehavior({ kind: 'slow-first-byte', delayMs: 300 });
      const started = performance.now();
      const res = await post({});
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
      expect(((await res.json()) as ChatCompletion).choices[0]?.message.content).toBe(pieces.join(''));

      const err = await client.chat.completions.create({ model: MODEL, messages }, { timeout: 100 }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    });
  });

  describe('stall-stream', () => {
    it('sends the role chunk and N content chunks, then nothing while the socket stays open', async () => {
      fake.setBehavior({ kind: 'stall-stream', afterChunks: 3 });
      const res = await post({ stream: true, stream_options: { include_usage: true } });
      expect(res.status).toBe(200);
      const { text, ended } = await readUntilQuiet(res.body as ReadableStream<Uint8Array>, 400);
      expect(ended).toBe(false);
      const chunks = sseData(text).map((payload) => JSON.parse(payload));
      expect(chunks).toHaveLength(4);
      expect(chunks.slice(1).map((chunk) => chunk.choices[0].delta.content)).toEqual(pieces.slice(0, 3));
    });

    it('counts the chunks after every choice’s first one for an answer with n choices or tool calls', async () => {
      fake.setBehavior({ kind: 'stall-stream', afterChunks: 2 });
      const res = await post({ n: 2, stream: true });
      const { text, ended } = await readUntilQuiet(res.body as ReadableStream<Uint8Array>, 400);
      expect(ended).toBe(false);
      const chunks = sseData(text).map((payload) => JSON.parse(payload));
      expect(chunks.map((chunk) => [chunk.choices[0].index, chunk.choices[0].delta.content])).toEqual([
        [0, ''],
        [1, ''],
        [0, pieces[0]],
        [1, fakeCompletion(messages, { choice: 1 }).pieces[0]],
      ]);
    });

    it('stalls a non-streaming answer halfway through its body', async () => {
      fake.setBehavior({ kind: 'stall-stream', afterChunks: 0 });
      const res = await post({});
      const { text, ended } = await readUntilQuiet(res.body as ReadableStream<Uint8Array>, 300);
      expect(ended).toBe(false);
      expect(text.length).toBeGreaterThan(0);
      expect(text.length).toBeLessThan(Number(res.headers.get('content-length')));
    });
  });

  describe('reset-mid-stream', () => {
    it('sends N content chunks, then destroys the socket so the SDK stream fails', async () => {
      fake.setBehavior({ kind: 'reset-mid-stream', afterChunks: 2 });
      const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true });
      const contents: string[] = [];
      await expect(async () => {
        for await (const chunk of stream) contents.push(chunk.choices[0]?.delta.content ?? '');
      }).rejects.toThrow();
      expect(contents).toEqual(['', ...pieces.slice(0, 2)]);
    });

    it('breaks a non-streaming answer off mid-body so fetch fails', async () => {
      fake.setBehavior({ kind: 'reset-mid-stream', afterChunks: 0 });
      await expect(client.chat.completions.create({ model: MODEL, messages })).rejects.toThrow();
      await expect(post({}).then((res) => res.text())).rejects.toThrow();
    });
  });

  describe('no-usage', () => {
    it('never sends the usage chunk though asked, yet ends with [DONE]; a plain answer has no usage', async () => {
      fake.setBehavior({ kind: 'no-usage' });
      const data = sseData(await (await post({ stream: true, stream_options: { include_usage: true } })).text());
      expect(data.at(-1)).toBe('[DONE]');
      const chunks = data.slice(0, -1).map((payload) => JSON.parse(payload));
      expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
      expect(chunks.every((chunk) => chunk.usage === null && chunk.choices.length === 1)).toBe(true);

      const completion = await client.chat.completions.create({ model: MODEL, messages });
      expect(completion.usage).toBeUndefined();
      expect(completion.choices[0]?.message.content).toBe(pieces.join(''));
    });
  });

  describe('usage', () => {
    const raw = { prompt_tokens: -5, completion_tokens: 'many', total_tokens: 3, cost_in_usd_ticks: 1.5 };

    it('sends exactly the given raw usage, plain and in the stream’s usage chunk, and bills nothing', async () => {
      const given = structuredClone(raw);
      fake.setBehavior({ kind: 'usage', usage: given });
      given.total_tokens = 999; // a later change to the caller's object does not leak in

      const completion = (await (await post({})).json()) as ChatCompletion;
      expect(completion.usage).toEqual(raw);
      expect(completion.choices[0]?.message.content).toBe(pieces.join(''));

      const data = sseData(await (await post({ stream: true, stream_options: { include_usage: true } })).text());
      expect(data.at(-1)).toBe('[DONE]');
      const chunks = data.slice(0, -1).map((payload) => JSON.parse(payload));
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: raw });
      expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);

      expect(fake.answers.map((answer) => answer.usage)).toEqual([raw, raw]);
      expect(fake.billed).toEqual({ calls: 0, ticks: 0n });
    });

    it('sends null for undefined and refuses a value JSON cannot carry', async () => {
      fake.setBehavior({ kind: 'usage', usage: undefined });
      const body = (await (await post({})).json()) as Record<string, unknown>;
      expect(body).toHaveProperty('usage', null);
      expect(() => fake.setBehavior({ kind: 'usage', usage: { cost_in_usd_ticks: 1n } })).toThrow(TypeError);
    });
  });

  describe('hang', () => {
    it('reads and records the request but never answers', async () => {
      fake.setBehavior({ kind: 'hang' });
      await expect(post({}, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0]?.body).toMatchObject({ model: MODEL });
    });
  });

  describe('ok with chunkDelayMs', () => {
    it('spaces the content chunks by chunkDelayMs', async () => {
      fake.setBehavior({ kind: 'ok', chunkDelayMs: 40 });
      const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true });
      const arrivals: number[] = [];
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals.push(performance.now());
      expect(arrivals).toHaveLength(pieces.length);
      expect((arrivals.at(-1) as number) - (arrivals[0] as number)).toBeGreaterThanOrEqual(
        (pieces.length - 1) * 40 * 0.8,
      );
    });
  });

  it('reset() restores the behaviour the fake started with', async () => {
    const faulty = await startFakeOpenAI({ behavior: { kind: 'status', status: 503 } });
    try {
      faulty.setBehavior({ kind: 'ok' });
      expect((await fetch(`${faulty.url}/chat/completions`, { method: 'POST', body: '{}' })).status).toBe(400);
      faulty.reset();
      const res = await fetch(`${faulty.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: MODEL, messages }),
      });
      expect(res.status).toBe(503);
    } finally {
      await faulty.close();
    }
  });
});

describe('closing the fake', () => {
  it('returns promptly with hanging, stalled and slow answers still open, failing their clients', async () => {
    const fake = await startFakeOpenAI({ latencyMs: 0 });
    const body = JSON.stringify({ model: MODEL, messages, stream: true });
    // Settles to the error (or 'answered') at once, so no rejection goes unhandled while close() runs.
    const send = () =>
      fetch(`${fake.url}/chat/completions`, { method: 'POST', body })
        .then((res) => res.text())
        .then(
          () => 'answered',
          (err: unknown) => err,
        );

    fake.setBehavior({ kind: 'hang' });
    const hanging = send();
    fake.setBehavior({ kind: 'slow-first-byte', delayMs: 60_000 });
    const slow = send();
    fake.setBehavior({ kind: 'stall-stream', afterChunks: 1 });
    const stalled = send();
    const idle = await fetch(`${fake.url}/models`); // leaves a keep-alive socket behind
    await idle.text();
    while (fake.requests.length < 4) await new Promise((resolve) => setTimeout(resolve, 10));

    const started = performance.now();
    await fake.close();
    await fake.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    for (const outcome of await Promise.all([hanging, slow, stalled])) expect(outcome).toBeInstanceOf(Error);
  });
});
