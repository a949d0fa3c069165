import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  countPromptTokens,
  digest,
  type FakeOpenAI,
  type FakeOpenAIOptions,
  fakeCompletion,
  type OpenAIUsage,
  startFakeOpenAI,
  type XaiUsage,
} from '../src/index';
import { readUntilQuiet, sseData } from './helpers/sse';

const question = 'Summarise the history of Lisbon in three sentences';
const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: question },
];
const prompt = countPromptTokens(messages);
const visible = fakeCompletion(messages).completionTokens;
/** The reasoning rule, written out independently of the fake's code. */
const reasoningFor = (lastUser: string) => 8 + (Number.parseInt(digest(lastUser), 16) % 25);
const reasoning = reasoningFor(question);

type Body = Record<string, unknown>;

/** Posts a chat completion with fetch, for what the SDK cannot send (extra params, bad headers). */
function post(fake: FakeOpenAI, body: Body, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${fake.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ messages, ...body }),
  });
}

async function plainUsage(fake: FakeOpenAI, body: Body, headers?: Record<string, string>) {
  const res = await post(fake, body, headers);
  expect(res.status).toBe(200);
  return ((await res.json()) as ChatCompletion).usage as unknown;
}

/** Streams with include_usage and returns the usage chunk's usage and the number of content chunks. */
async function streamedUsage(fake: FakeOpenAI, body: Body, headers?: Record<string, string>) {
  const res = await post(fake, { ...body, stream: true, stream_options: { include_usage: true } }, headers);
  const chunks = sseData(await res.text())
    .slice(0, -1)
    .map((payload) => JSON.parse(payload) as ChatCompletionChunk);
  const last = chunks.at(-1) as ChatCompletionChunk;
  expect(last.choices).toEqual([]);
  expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  const contentChunks = chunks.filter((chunk) => chunk.choices[0]?.delta.content).length;
  return { usage: last.usage as unknown, contentChunks };
}

async function withFake(options: FakeOpenAIOptions, run: (fake: FakeOpenAI) => Promise<void>): Promise<void> {
  const fake = await startFakeOpenAI(options);
  try {
    await run(fake);
  } finally {
    await fake.close();
  }
}

describe('usage on the wire', () => {
  let fake: FakeOpenAI;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    client = new OpenAI({ baseURL: fake.url, apiKey: 'k', maxRetries: 0 });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  describe('xAI dialect (the default)', () => {
    it('counts reasoning outside completion_tokens and inside total_tokens, field for field as xAI', async () => {
      const completion = await client.chat.completions.create({ model: 'grok-4', messages });
      // grok-4 per token: 30 000 ticks in, 150 000 out (3 and 15 USD per 1M).
      expect(completion.usage as unknown).toEqual({
        prompt_tokens: prompt,
        completion_tokens: visible,
        total_tokens: prompt + visible + reasoning,
        prompt_tokens_details: { text_tokens: prompt, audio_tokens: 0, image_tokens: 0, cached_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: reasoning,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
        num_sources_used: 0,
        cost_in_usd_ticks: prompt * 30_000 + (visible + reasoning) * 150_000,
      } satisfies XaiUsage);
      expect(reasoning).toBeGreaterThan(0);
    });

    it('streams the same figures as a plain answer, completion_tokens being the content chunks', async () => {
      await withFake({ promptCache: false }, async (uncached) => {
        const plain = await plainUsage(uncached, { model: 'grok-4-fast' });
        const streamed = await streamedUsage(uncached, { model: 'grok-4-fast' });
        expect(streamed.usage).toEqual(plain);
        expect((streamed.usage as XaiUsage).completion_tokens).toBe(streamed.contentChunks);
      });
    });

    it('reports 0 reasoning tokens for non-reasoning models, and for any model with reasoning: false', async () => {
      for (const model of ['grok-3', 'grok-4-fast-non-reasoning']) {
        const usage = (await plainUsage(fake, { model })) as XaiUsage;
        expect(usage.completion_tokens_details.reasoning_tokens).toBe(0);
        expect(usage.total_tokens).toBe(prompt + visible);
      }
      for (const model of ['grok-3-mini', 'grok-code-fast-1', 'grok-4-1-fast']) {
        const usage = (await plainUsage(fake, { model })) as XaiUsage;
        expect(usage.completion_tokens_details.reasoning_tokens, model).toBe(reasoning);
      }
      await withFake({ reasoning: false }, async (plain) => {
        const usage = (await plainUsage(plain, { model: 'grok-4' })) as XaiUsage;
        expect(usage.completion_tokens_details.reasoning_tokens).toBe(0);
        expect(usage.total_tokens).toBe(prompt + visible);
      });
    });
  });

  describe('OpenAI dialect', () => {
    it('counts reasoning inside completion_tokens, with OpenAI’s details and no cost or sources', async () => {
      await withFake({ dialect: 'openai' }, async (openai) => {
        const sdk = new OpenAI({ baseURL: openai.url, apiKey: 'k', maxRetries: 0 });
        const completion = await sdk.chat.completions.create({ model: 'grok-4', messages });
        expect(completion.usage).toEqual({
          prompt_tokens: prompt,
          completion_tokens: visible + reasoning,
          total_tokens: prompt + visible + reasoning,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: {
            reasoning_tokens: reasoning,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
          },
        } satisfies OpenAIUsage);

        const searched = await plainUsage(openai, { model: 'grok-4', search_parameters: { mode: 'on' } });
        expect(Object.keys(searched as object)).not.toContain('num_sources_used');
        expect(Object.keys(searched as object)).not.toContain('cost_in_usd_ticks');
      });
    });

    it('streams a usage chunk whose completion_tokens are the content chunks plus reasoning', async () => {
      await withFake({ dialect: 'openai', promptCache: false }, async (openai) => {
        const { usage, contentChunks } = await streamedUsage(openai, { model: 'grok-3-mini' });
        const { completion_tokens, total_tokens, prompt_tokens } = usage as OpenAIUsage;
        expect(completion_tokens).toBe(contentChunks + reasoning);
        expect(total_tokens).toBe(prompt_tokens + completion_tokens);
        expect(usage).toEqual(await plainUsage(openai, { model: 'grok-3-mini' }));
      });
    });
  });

  describe('prompt caching', () => {
    it('caches nothing for a first-seen prompt and all of it on an identical repeat, within prompt_tokens', async () => {
      const first = (await plainUsage(fake, { model: 'grok-4' })) as XaiUsage;
      const again = (await streamedUsage(fake, { model: 'grok-4' })).usage as XaiUsage;
      expect(first.prompt_tokens_details.cached_tokens).toBe(0);
      expect(again.prompt_tokens_details.cached_tokens).toBe(prompt);
      expect(again.prompt_tokens_details.cached_tokens).toBeLessThanOrEqual(again.prompt_tokens);
      const openai = (await plainUsage(fake, { model: 'grok-4' }, { 'x-fake-dialect': 'openai' })) as OpenAIUsage;
      expect(openai.prompt_tokens_details.cached_tokens).toBe(prompt);
    });

    it('caches the leading messages a continued conversation shares with an earlier request', async () => {
      await plainUsage(fake, { model: 'grok-4' });
      const followUp = [...messages, { role: 'assistant', content: 'Old.' }, { role: 'user', content: 'More?' }];
      const usage = (await plainUsage(fake, { model: 'grok-4', messages: followUp })) as XaiUsage;
      expect(usage.prompt_tokens).toBe(countPromptTokens(followUp));
      expect(usage.prompt_tokens_details.cached_tokens).toBe(prompt);
    });

    it('forgets on reset() and caches nothing with promptCache: false', async () => {
      await plainUsage(fake, { model: 'grok-4' });
      fake.reset();
      expect(((await plainUsage(fake, { model: 'grok-4' })) as XaiUsage).prompt_tokens_details.cached_tokens).toBe(0);
      await withFake({ promptCache: false }, async (uncached) => {
        await plainUsage(uncached, { model: 'grok-4' });
        const usage = (await plainUsage(uncached, { model: 'grok-4' })) as XaiUsage;
        expect(usage.prompt_tokens_details.cached_tokens).toBe(0);
      });
    });
  });

  describe('billed cost (xAI)', () => {
    const out = visible + reasoning;

    it('bills a short prompt at list price, the cached repeat at the cached rate', async () => {
      // grok-4 per token: input 30 000 ticks, cached 7 500, output 150 000.
      const first = (await plainUsage(fake, { model: 'grok-4' })) as XaiUsage;
      expect(first.cost_in_usd_ticks).toBe(prompt * 30_000 + out * 150_000);
      const cached = (await plainUsage(fake, { model: 'grok-4' })) as XaiUsage;
      expect(cached.cost_in_usd_ticks).toBe(prompt * 7_500 + out * 150_000);
    });

    it('bills all of a call above 128 000 prompt tokens at the long-context rates', async () => {
      // 5 messages of 108 000 chars: 5 × (27 000 + 4) = 135 020 prompt tokens.
      const huge = Array.from({ length: 5 }, (_, i) => ({
        role: i === 4 ? 'user' : 'system',
        content: `${i}`.padEnd(108_000, ' lorem'),
      }));
      const hugeVisible = fakeCompletion(huge).completionTokens;
      const hugeOut = hugeVisible + reasoningFor(huge[4]?.content as string);
      const body = { model: 'grok-4-fast', messages: huge };

      const first = (await plainUsage(fake, body)) as XaiUsage;
      expect(first.prompt_tokens).toBe(135_020);
      // grok-4-fast above 128k, per token: input 4 000 ticks, output 10 000 (base cached: 500).
      expect(first.cost_in_usd_ticks).toBe(135_020 * 4_000 + hugeOut * 10_000);
      const cached = (await streamedUsage(fake, body)).usage as XaiUsage;
      expect(cached.cost_in_usd_ticks).toBe(135_020 * 500 + hugeOut * 10_000);

      fake.reset();
      // grok-3 has no long-context price: base rates, 30 000 / 150 000 ticks per token.
      const base = (await plainUsage(fake, { ...body, model: 'grok-3' })) as XaiUsage;
      expect(base.cost_in_usd_ticks).toBe(135_020 * 30_000 + hugeVisible * 150_000);
    });

    it('reports live-search sources and bills them at 0.025 USD each', async () => {
      const search = async (search_parameters: unknown) => {
        fake.reset();
        return (await plainUsage(fake, { model: 'grok-4-fast', search_parameters })) as XaiUsage;
      };
      const three = await search({ mode: 'on', max_search_results: 3 });
      expect(three.num_sources_used).toBe(3);
      // grok-4-fast per token: 2 000 ticks in, 5 000 out; a source is 250 000 000 ticks.
      expect(three.cost_in_usd_ticks).toBe(prompt * 2_000 + out * 5_000 + 3 * 250_000_000);
      expect((await search({ mode: 'auto' })).num_sources_used).toBe(5);
      expect((await search({ mode: 'on', max_search_results: 20 })).num_sources_used).toBe(5);
      const off = await search({ mode: 'off', max_search_results: 3 });
      expect(off.num_sources_used).toBe(0);
      expect(off.cost_in_usd_ticks).toBe(prompt * 2_000 + out * 5_000);
    });

    it('leaves cost_in_usd_ticks out for a model it has no price for, and uses the prices it is given', async () => {
      const unpriced = (await plainUsage(fake, { model: 'grok-4-latest' })) as XaiUsage;
      expect(unpriced).not.toHaveProperty('cost_in_usd_ticks');
      expect(unpriced.total_tokens).toBe(prompt + visible + reasoning);
      expect(fake.billed).toEqual({ calls: 0, ticks: 0n });

      const prices = { 'house-model': { input: 1, cached_input: 0.1, output: 2 } };
      await withFake({ prices }, async (custom) => {
        const usage = (await plainUsage(custom, { model: 'house-model' })) as XaiUsage;
        expect(usage.cost_in_usd_ticks).toBe(prompt * 10_000 + out * 20_000);
        expect(await plainUsage(custom, { model: 'grok-4' })).not.toHaveProperty('cost_in_usd_ticks');
      });
      await expect(startFakeOpenAI({ prices: { bad: { input: -1, cached_input: 0, output: 0 } } })).rejects.toThrow(
        RangeError,
      );
    });
  });

  describe('choosing the dialect per request', () => {
    it('follows an x-fake-dialect header over the server’s dialect, and refuses a bad one with a 400', async () => {
      const openai = await client.chat.completions.create(
        { model: 'grok-4', messages },
        { headers: { 'x-fake-dialect': 'openai' } },
      );
      expect(openai.usage?.completion_tokens).toBe(visible + reasoning);
      expect(openai.usage).not.toHaveProperty('cost_in_usd_ticks');

      fake.setDialect('openai');
      const switched = (await plainUsage(fake, { model: 'grok-4' })) as OpenAIUsage;
      expect(switched.completion_tokens).toBe(visible + reasoning);
      const xai = (await plainUsage(fake, { model: 'grok-4' }, { 'x-fake-dialect': 'xai' })) as XaiUsage;
      expect(xai.completion_tokens).toBe(visible);
      expect(xai.cost_in_usd_ticks).toEqual(expect.any(Number));

      const bad = await post(fake, { model: 'grok-4' }, { 'x-fake-dialect': 'anthropic' });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('x-fake-dialect');

      fake.reset();
      expect(await plainUsage(fake, { model: 'grok-4' })).toHaveProperty('cost_in_usd_ticks');
      expect(() => fake.setDialect('anthropic' as 'xai')).toThrow(TypeError);
    });

    it('asks dialectOf for each request without the header, falling back to the server’s dialect', async () => {
      const seen: unknown[] = [];
      const dialectOf = (body: Record<string, unknown>) => {
        seen.push(body.user);
        return body.user === 'openai-app' ? ('openai' as const) : undefined;
      };
      await withFake({ dialectOf }, async (mixed) => {
        const openai = (await plainUsage(mixed, { model: 'grok-4', user: 'openai-app' })) as OpenAIUsage;
        expect(openai.completion_tokens).toBe(visible + reasoning);
        const xai = (await streamedUsage(mixed, { model: 'grok-4', user: 'xai-app' })).usage as XaiUsage;
        expect(xai.completion_tokens).toBe(visible);
        expect(xai).toHaveProperty('cost_in_usd_ticks');
        const header = await plainUsage(mixed, { model: 'grok-4', user: 'openai-app' }, { 'x-fake-dialect': 'xai' });
        expect(header).toHaveProperty('num_sources_used');
        expect(seen).toEqual(['openai-app', 'xai-app']);
        expect(mixed.answers.map((answer) => answer.dialect)).toEqual(['openai', 'xai', 'xai']);
      });
    });

    it('answers a 500 when dialectOf throws or returns no dialect', async () => {
      const dialectOf = (body: Record<string, unknown>) => {
        if (body.user === 'throw') throw new Error('boom');
        return body.user as 'xai';
      };
      await withFake({ dialectOf }, async (broken) => {
        const thrown = await post(broken, { model: 'grok-4', user: 'throw' });
        expect(thrown.status).toBe(500);
        expect(await thrown.text()).toContain('boom');
        expect((await post(broken, { model: 'grok-4', user: 'cohere' })).status).toBe(500);
        expect(broken.answers).toEqual([]);
      });
    });
  });

  describe('answers and billed', () => {
    afterEach(() => fake.setBehavior({ kind: 'ok' }));

    it('records the exact usage of every answer, and bills the sum of the xAI costs sent', async () => {
      const plain = (await post(fake, { model: 'grok-4' }).then((res) => res.json())) as ChatCompletion;
      const streamed = await streamedUsage(fake, { model: 'grok-4-fast' });
      const openai = await plainUsage(fake, { model: 'grok-4' }, { 'x-fake-dialect': 'openai' });
      const unpriced = await plainUsage(fake, { model: 'house-model' });
      await (await post(fake, { model: 'grok-4', stream: true })).text(); // no include_usage: no usage sent

      expect(fake.answers).toEqual([
        { id: plain.id, model: 'grok-4', stream: false, dialect: 'xai', usage: plain.usage },
        {
          id: expect.stringMatching(/^chatcmpl-/),
          model: 'grok-4-fast',
          stream: true,
          dialect: 'xai',
          usage: streamed.usage,
        },
        { id: expect.any(String), model: 'grok-4', stream: false, dialect: 'openai', usage: openai },
        { id: expect.any(String), model: 'house-model', stream: false, dialect: 'xai', usage: unpriced },
        { id: expect.any(String), model: 'grok-4', stream: true, dialect: 'xai', usage: undefined },
      ]);
      const costs = fake.answers.flatMap((answer) => {
        const cost = (answer.usage as XaiUsage | undefined)?.cost_in_usd_ticks;
        return cost === undefined ? [] : [BigInt(cost)];
      });
      expect(costs).toHaveLength(2);
      expect(fake.billed).toEqual({ calls: 2, ticks: costs[0] + costs[1] });
    });

    it('records cut-off and usage-less answers with no usage, and bills none of them', async () => {
      fake.setBehavior({ kind: 'stall-stream', afterChunks: 1 });
      const stalled = await post(fake, { model: 'grok-4', stream: true, stream_options: { include_usage: true } });
      await readUntilQuiet(stalled.body as ReadableStream<Uint8Array>, 100);
      fake.setBehavior({ kind: 'reset-mid-stream', afterChunks: 1 });
      await expect(
        post(fake, { model: 'grok-4', stream: true, stream_options: { include_usage: true } }).then((r) => r.text()),
      ).rejects.toThrow();
      fake.setBehavior({ kind: 'no-usage' });
      await plainUsage(fake, { model: 'grok-4' });
      fake.setBehavior({ kind: 'ok', chunkDelayMs: 50 });
      const slow = await post(fake, { model: 'grok-4', stream: true, stream_options: { include_usage: true } });
      await readUntilQuiet(slow.body as ReadableStream<Uint8Array>, 20); // leaves after the first chunks
      await new Promise((resolve) => setTimeout(resolve, 600));
      fake.setBehavior({ kind: 'status', status: 429 });
      expect((await post(fake, { model: 'grok-4' })).status).toBe(429);

      expect(fake.answers.map((answer) => [answer.stream, answer.usage])).toEqual([
        [true, undefined],
        [true, undefined],
        [false, undefined],
        [true, undefined],
      ]);
      expect(fake.billed).toEqual({ calls: 0, ticks: 0n });
    });

    it('records and bills a chunk-delayed stream once its usage chunk is out', async () => {
      fake.setBehavior({ kind: 'ok', chunkDelayMs: 5 });
      const { usage } = await streamedUsage(fake, { model: 'grok-4' });
      expect(fake.answers.map((answer) => answer.usage)).toEqual([usage]);
      expect(fake.billed).toEqual({ calls: 1, ticks: BigInt((usage as XaiUsage).cost_in_usd_ticks as number) });
    });

    it('keeps billing with record: false, and reset() clears answers and billed', async () => {
      await withFake({ record: false }, async (quiet) => {
        const usage = (await plainUsage(quiet, { model: 'grok-4' })) as XaiUsage;
        const before = quiet.billed;
        const again = (await streamedUsage(quiet, { model: 'grok-4' })).usage as XaiUsage;
        expect(quiet.answers).toEqual([]);
        expect(before).toEqual({ calls: 1, ticks: BigInt(usage.cost_in_usd_ticks as number) });
        expect(quiet.billed).toEqual({
          calls: 2,
          ticks: BigInt(usage.cost_in_usd_ticks as number) + BigInt(again.cost_in_usd_ticks as number),
        });
      });
      await plainUsage(fake, { model: 'grok-4' });
      expect(fake.answers).toHaveLength(1);
      fake.reset();
      expect(fake.answers).toEqual([]);
      expect(fake.billed).toEqual({ calls: 0, ticks: 0n });
    });
  });
});
