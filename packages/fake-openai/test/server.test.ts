import { Agent, request } from 'node:http';
import OpenAI from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  countPromptTokens,
  digest,
  type FakeOpenAI,
  fakeCompletion,
  type OpenAIErrorBody,
  startFakeOpenAI,
} from '../src/index';
import { sseData } from './helpers/sse';

const API_KEY = 'xai-test-key-0123456789';
const MODEL = 'grok-3-mini';
const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Tell me about the weather in Lisbon' },
];

describe('the fake, as the official openai SDK sees it', () => {
  let fake: FakeOpenAI;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: API_KEY });
    client = new OpenAI({ baseURL: fake.url, apiKey: API_KEY, maxRetries: 0 });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('listens on loopback and gives a base URL ending in /v1', () => {
    expect(fake.url).toBe(`http://127.0.0.1:${fake.port}/v1`);
  });

  it('answers a non-streaming completion the SDK parses, with consistent usage', async () => {
    const completion = await client.chat.completions.create({ model: MODEL, messages });
    const expected = fakeCompletion(messages);

    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe(MODEL);
    expect(completion.system_fingerprint).toEqual(expect.any(String));
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(5);
    expect(completion.choices).toEqual([
      {
        index: 0,
        message: {
          role: 'assistant',
          content: expected.content,
          // grok-3-mini shows its thinking in xAI's dialect (docs.x.ai reasoning guide).
          reasoning_content: `Thinking about ${digest(messages[1].content)} before answering.`,
          refusal: null,
        },
        logprobs: null,
        finish_reason: 'stop',
      },
    ]);
    expect(expected.content).toBe(`Echo: ${digest(messages[1].content)} Tell me about the weather in Lisbon`);
    // grok-3-mini reasons (8 + digest % 25 tokens) and costs 0.30 / 0.50 USD per 1M prompt / output
    // tokens, i.e. 3 000 / 5 000 ticks per token; the first sight of a prompt has nothing cached.
    const prompt = countPromptTokens(messages);
    const reasoning = 8 + (Number.parseInt(digest(messages[1].content), 16) % 25);
    expect(completion.usage).toEqual({
      prompt_tokens: prompt,
      completion_tokens: 9,
      total_tokens: prompt + 9 + reasoning,
      prompt_tokens_details: { text_tokens: prompt, audio_tokens: 0, image_tokens: 0, cached_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: reasoning,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
      num_sources_used: 0,
      cost_in_usd_ticks: prompt * 3_000 + (9 + reasoning) * 5_000,
    });
    expect(completion._request_id).toMatch(/^req_/);
  });

  it('streams chunks the SDK parses, whose pieces add up to the reported usage', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    const ids = new Set(chunks.map((chunk) => chunk.id));
    expect(ids.size).toBe(1);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === MODEL)).toBe(true);
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: 'assistant', content: '' });

    // grok-3-mini streams its reasoning_content deltas between the role chunk and the content.
    const deltas = chunks.slice(1, -2).map((chunk) => chunk.choices[0]?.delta as Record<string, unknown>);
    const thinking = deltas.filter((delta) => 'reasoning_content' in delta);
    expect(thinking.map((delta) => delta.reasoning_content).join('')).toBe(
      `Thinking about ${digest(messages[1].content)} before answering.`,
    );
    expect(deltas.slice(0, thinking.length)).toEqual(thinking);
    const contentChunks = chunks.slice(1 + thinking.length, -2);
    const text = contentChunks.map((chunk) => chunk.choices[0]?.delta.content).join('');
    expect(text).toBe(fakeCompletion(messages).content);

    const finish = chunks.at(-2);
    expect(finish?.choices[0]?.delta).toEqual({});
    expect(finish?.choices[0]?.finish_reason).toBe('stop');

    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBe(contentChunks.length);
    expect(last?.usage?.prompt_tokens).toBe(countPromptTokens(messages));
    const reasoning = last?.usage?.completion_tokens_details?.reasoning_tokens ?? 0;
    expect(reasoning).toBeGreaterThanOrEqual(8);
    expect(last?.usage?.total_tokens).toBe((last?.usage?.prompt_tokens ?? 0) + contentChunks.length + reasoning);
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it('honours max_tokens, cutting with finish_reason "length" in both modes', async () => {
    const completion = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 3 });
    expect(completion.usage?.completion_tokens).toBe(3);
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.choices[0]?.message.content).toBe(`Echo: ${digest(messages[1].content)} Tell`);

    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_completion_tokens: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const pieces = chunks.filter((chunk) => chunk.choices[0]?.delta.content);
    expect(pieces).toHaveLength(2);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('length');
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(2);

    const roomy = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 100 });
    expect(roomy.choices[0]?.finish_reason).toBe('stop');
    expect(roomy.usage?.completion_tokens).toBe(9);
  });

  it('streams without any usage chunk when include_usage is not asked for', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.every((chunk) => chunk.usage === undefined && chunk.choices.length === 1)).toBe(true);
  });

  it('lists models in OpenAI shape', async () => {
    const ids = [];
    for await (const model of client.models.list()) {
      expect(model).toMatchObject({ object: 'model', owned_by: 'xai', created: expect.any(Number) });
      ids.push(model.id);
    }
    expect(ids).toContain(MODEL);
    expect((await client.models.retrieve(MODEL)).id).toBe(MODEL);
    await expect(client.models.retrieve('gpt-nope')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('rejects a wrong key with 401 invalid_api_key and a missing one with 401', async () => {
    const wrong = new OpenAI({ baseURL: fake.url, apiKey: 'xai-wrong-key-000000', maxRetries: 0 });
    const err = await wrong.chat.completions.create({ model: MODEL, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
    expect((err as Error).message).not.toContain('xai-wrong-key-000000');

    const missing = await fetch(`${fake.url}/models`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as OpenAIErrorBody).error).toMatchObject({
      type: 'invalid_request_error',
      code: null,
    });
  });

  it('records method, path, lower-cased headers and the parsed body of every request', async () => {
    await client.chat.completions.create({ model: MODEL, messages, max_tokens: 5 });
    await fetch(`${fake.url}/nowhere?x=1`, { headers: { 'X-Custom': 'yes' } });

    expect(fake.requests).toHaveLength(2);
    const [chat, other] = fake.requests;
    expect(chat).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      body: { model: MODEL, messages, max_tokens: 5 },
    });
    expect(chat?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(chat?.headers['content-type']).toContain('application/json');
    expect(other).toMatchObject({ method: 'GET', path: '/v1/nowhere', body: undefined });
    expect(other?.headers['x-custom']).toBe('yes');

    fake.reset();
    expect(fake.requests).toEqual([]);
  });
});

describe('the fake on the wire', () => {
  let fake: FakeOpenAI;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  const post = (body: string, path = '/chat/completions') =>
    fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('sends exactly OpenAI’s completion fields as JSON with a content-length', async () => {
    const res = await post(JSON.stringify({ model: MODEL, messages }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('content-length')).toEqual(expect.any(String));
    const body = (await res.json()) as ChatCompletion;
    expect(Object.keys(body)).toEqual(['id', 'object', 'created', 'model', 'system_fingerprint', 'choices', 'usage']);
    expect(Object.keys(body.usage ?? {})).toEqual([
      'prompt_tokens',
      'completion_tokens',
      'total_tokens',
      'prompt_tokens_details',
      'completion_tokens_details',
      'num_sources_used',
      'cost_in_usd_ticks',
    ]);
  });

  it('frames a stream as data events separated by blank lines, ending with [DONE]', async () => {
    const res = await post(
      JSON.stringify({ model: MODEL, messages, stream: true, stream_options: { include_usage: true } }),
    );
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const data = sseData(await res.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((payload) => JSON.parse(payload));
    expect(chunks[0]).toEqual({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion.chunk',
      created: expect.any(Number),
      model: MODEL,
      system_fingerprint: expect.any(String),
      choices: [
        { index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null },
      ],
      usage: null,
    });
    const contentChunks = chunks.filter((chunk) => typeof chunk.choices[0]?.delta.content === 'string').length - 1;
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: contentChunks } });
  });

  it('answers an unknown path or method with a 404 in OpenAI’s error shape', async () => {
    for (const res of [await fetch(`${fake.url}/engines`), await fetch(`${fake.url}/chat/completions`)]) {
      expect(res.status).toBe(404);
      const body = (await res.json()) as OpenAIErrorBody;
      expect(Object.keys(body.error)).toEqual(['message', 'type', 'param', 'code']);
      expect(body.error.type).toBe('invalid_request_error');
    }
  });

  it('answers a body that is not JSON with a 400 in OpenAI’s error shape, and records it raw', async () => {
    const res = await post('{"model": "grok-3-mini", ');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { message: expect.stringContaining('JSON'), type: 'invalid_request_error', param: null, code: null },
    });
    expect(fake.requests[0]?.body).toBe('{"model": "grok-3-mini", ');
  });

  it('answers requests OpenAI would refuse with a 400 naming the parameter', async () => {
    const cases: [unknown, string][] = [
      [{ messages }, 'model'],
      [{ model: MODEL, messages: [] }, 'messages'],
      [{ model: MODEL, messages, max_tokens: 0 }, 'max_tokens'],
      [{ model: MODEL, messages, stream_options: { include_usage: true } }, 'stream_options'],
    ];
    for (const [body, param] of cases) {
      const res = await post(JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(((await res.json()) as OpenAIErrorBody).error.param).toBe(param);
    }
  });

  it('keeps connections alive between requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = () =>
      new Promise<boolean>((resolve, reject) => {
        const req = request(`${fake.url}/models`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(req.reusedSocket));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await send()).toBe(false);
    expect(await send()).toBe(true);
    agent.destroy();
  });

  it('serves 50 concurrent SDK clients without error', async () => {
    const client = new OpenAI({ baseURL: fake.url, apiKey: 'any', maxRetries: 0 });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `question ${i}` }] }),
      ),
    );
    expect(new Set(results.map((r) => r.choices[0]?.message.content)).size).toBe(50);
  });

  it('does not record when started with record: false', async () => {
    const quiet = await startFakeOpenAI({ record: false });
    try {
      await fetch(`${quiet.url}/models`);
      expect(quiet.requests).toEqual([]);
    } finally {
      await quiet.close();
    }
  });

  it('delays every answer by latencyMs', async () => {
    const slow = await startFakeOpenAI({ latencyMs: 150 });
    try {
      const started = performance.now();
      const res = await fetch(`${slow.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: MODEL, messages }),
      });
      await res.json();
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      await slow.close();
    }
  });
});
