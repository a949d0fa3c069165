import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageFunctionToolCall,
} from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  costInUsdTicks,
  DEFAULT_PRICES,
  digest,
  type FakeOpenAI,
  fakeCompletion,
  fakeReasoningTokens,
  fakeSchemaValue,
  fakeToolArguments,
  type OpenAIErrorBody,
  type OpenAIUsage,
  SYSTEM_FINGERPRINT,
  schemaSeed,
  startFakeOpenAI,
  toolCallTokens,
  type XaiUsage,
} from '../src/index';
import { sseData } from './helpers/sse';

const question = 'Lisbon weather tomorrow please';
const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: question },
];
const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The forecast for a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string' },
        days: { type: 'integer', minimum: 1, maximum: 7 },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        detailed: { type: 'boolean' },
      },
      required: ['city', 'days'],
    },
  },
};
const clock = {
  type: 'function' as const,
  function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } },
};
const weatherArgs = fakeToolArguments(weather.function.parameters, messages);
const clockArgs = fakeToolArguments(clock.function.parameters, messages);

type Body = Record<string, unknown>;

/** The function calls of choice `index` (the SDK's type also admits custom tool calls). */
const callsOf = (completion: ChatCompletion, index = 0) =>
  (completion.choices[index]?.message.tool_calls ?? []) as ChatCompletionMessageFunctionToolCall[];

describe('the full Chat Completions surface', () => {
  let fake: FakeOpenAI;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ promptCache: false });
    client = new OpenAI({ baseURL: fake.url, apiKey: 'k', maxRetries: 0 });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  const post = (body: Body, headers: Record<string, string> = {}) =>
    fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'grok-4', messages, ...body }),
    });
  const plain = async (body: Body, headers?: Record<string, string>) => {
    const res = await post(body, headers);
    expect(res.status).toBe(200);
    return (await res.json()) as ChatCompletion;
  };
  const streamed = async (body: Body, headers?: Record<string, string>) => {
    const res = await post({ ...body, stream: true, stream_options: { include_usage: true } }, headers);
    expect(res.status).toBe(200);
    const data = sseData(await res.text());
    expect(data.at(-1)).toBe('[DONE]');
    return data.slice(0, -1).map((payload) => JSON.parse(payload) as ChatCompletionChunk);
  };
  const refused = async (body: Body) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as OpenAIErrorBody;
    expect(error.type).toBe('invalid_request_error');
    return error;
  };
  /** A stream's delta objects of one choice, in order, with the finish reason of its last chunk. */
  const deltasOf = (chunks: ChatCompletionChunk[], index: number) =>
    chunks.flatMap((chunk) => chunk.choices.filter((choice) => choice.index === index).map((choice) => choice.delta));

  describe('tool calls', () => {
    it('answers a request with tools with a call of the first tool, arguments built from its schema', async () => {
      const completion = await client.chat.completions.create({ model: 'grok-4', messages, tools: [weather, clock] });
      const [choice] = completion.choices;
      expect(choice?.finish_reason).toBe('tool_calls');
      expect(choice?.message).toEqual({
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: expect.stringMatching(/^call_[0-9a-f]{16}$/),
            type: 'function',
            function: { name: 'get_weather', arguments: weatherArgs },
          },
        ],
        refusal: null,
      });
      const args = JSON.parse(weatherArgs);
      expect(args).toEqual({ city: 'Lisbon', days: expect.any(Number), unit: 'celsius', detailed: true });
      expect(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7).toBe(true);
      expect(completion.system_fingerprint).toBe(SYSTEM_FINGERPRINT);
      // xAI: visible completion tokens are the call's, reasoning on top; billed as output.
      const calls = toolCallTokens(weatherArgs);
      expect(calls).toBe(3 + Math.ceil(weatherArgs.length / 4));
      const reasoning = fakeReasoningTokens('grok-4', messages);
      const usage = completion.usage as unknown as XaiUsage;
      expect(usage.completion_tokens).toBe(calls);
      expect(usage.total_tokens).toBe(usage.prompt_tokens + calls + reasoning);
      const price = DEFAULT_PRICES['grok-4'];
      const tokens = { cachedTokens: 0, completionTokens: calls, reasoningTokens: reasoning, sourcesUsed: 0 };
      expect(BigInt(usage.cost_in_usd_ticks as number)).toBe(
        costInUsdTicks(price as never, { promptTokens: usage.prompt_tokens, ...tokens }),
      );
    });

    it('gives the same call for the same request', async () => {
      const first = await plain({ tools: [weather] });
      const again = await plain({ tools: [weather] });
      expect(again.choices).toEqual(first.choices);
      const other = await plain({ tools: [weather], messages: [{ role: 'user', content: 'Porto tomorrow' }] });
      expect(callsOf(other)[0]?.id).not.toBe(callsOf(first)[0]?.id);
      expect(JSON.parse(callsOf(other)[0]?.function.arguments as string).city).toBe('Porto');
    });

    it('calls the tool tool_choice names, and refuses a name not in tools with a 400 naming tool_choice', async () => {
      const named = await plain({
        tools: [weather, clock],
        tool_choice: { type: 'function', function: { name: 'get_time' } },
      });
      expect(callsOf(named).map((call) => call.function)).toEqual([{ name: 'get_time', arguments: clockArgs }]);
      const unknown = await refused({
        tools: [weather],
        tool_choice: { type: 'function', function: { name: 'nope' } },
      });
      expect(unknown.param).toBe('tool_choice');
      expect(unknown.message).toContain('nope');
      expect((await refused({ tool_choice: 'auto' })).param).toBe('tool_choice');
      expect((await refused({ tools: [weather], tool_choice: 'sometimes' })).param).toBe('tool_choice');
      expect((await refused({ tools: [{ type: 'function', function: {} }] })).param).toBe('tools[0].function.name');
      expect((await refused({ tools: 'get_weather' })).param).toBe('tools');
    });

    it('answers text for tool_choice none and for an empty tools array', async () => {
      const text = fakeCompletion(messages).content;
      for (const body of [{ tools: [weather], tool_choice: 'none' }, { tools: [] }]) {
        const completion = await plain(body);
        expect(completion.choices[0]?.message).toEqual({ role: 'assistant', content: text, refusal: null });
        expect(completion.choices[0]?.finish_reason).toBe('stop');
      }
    });

    it('calls every tool for tool_choice required, one for parallel_tool_calls false', async () => {
      const parallel = await plain({ tools: [weather, clock], tool_choice: 'required' });
      const calls = callsOf(parallel);
      expect(calls.map((call) => [call.function.name, call.function.arguments])).toEqual([
        ['get_weather', weatherArgs],
        ['get_time', clockArgs],
      ]);
      expect(new Set(calls.map((call) => call.id)).size).toBe(2);
      expect(parallel.usage?.completion_tokens).toBe(toolCallTokens(weatherArgs) + toolCallTokens(clockArgs));

      const single = await plain({ tools: [weather, clock], tool_choice: 'required', parallel_tool_calls: false });
      expect(callsOf(single).map((call) => call.function.name)).toEqual(['get_weather']);
    });

    it('cuts the calls to max_tokens with finish_reason length', async () => {
      const tokens = toolCallTokens(weatherArgs);
      const cut = await plain({ tools: [weather, clock], tool_choice: 'required', max_tokens: tokens + 1 });
      expect(cut.choices[0]?.finish_reason).toBe('length');
      expect(cut.usage?.completion_tokens).toBe(tokens + 1);
      const calls = callsOf(cut);
      expect(calls.map((call) => call.function.arguments)).toEqual([weatherArgs, '']);
    });

    it('answers a tool result with text echoing it, which the SDK’s runTools round trip ends on', async () => {
      const seen: unknown[] = [];
      const runner = client.chat.completions.runTools({
        model: 'grok-4',
        messages,
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: weather.function.description,
              parameters: weather.function.parameters,
              function: (args: string) => {
                seen.push(JSON.parse(args));
                return 'Sunny and 24 degrees';
              },
            },
          },
        ],
      });
      const content = await runner.finalContent();
      expect(seen).toEqual([JSON.parse(weatherArgs)]);
      expect(content).toBe(`Echo: ${digest('Sunny and 24 degrees')} Sunny and 24 degrees`);
      const sent = fake.requests.map((request) => (request.body as { messages: { role: string }[] }).messages);
      expect(sent).toHaveLength(2);
      expect(sent[1]?.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'tool']);
      expect(fake.answers).toHaveLength(2);
    });

    it('streams each call whole in one delta in the xai dialect, with the usage of the plain answer', async () => {
      const body = { tools: [weather, clock], tool_choice: 'required' };
      const chunks = await streamed(body);
      expect(chunks.every((chunk) => chunk.system_fingerprint === SYSTEM_FINGERPRINT)).toBe(true);
      const [first, second] = (await plain(body)).choices[0]?.message.tool_calls ?? [];
      expect(deltasOf(chunks, 0)).toEqual([
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { index: 0, id: first?.id, type: 'function', function: { name: 'get_weather', arguments: weatherArgs } },
          ],
        },
        {
          tool_calls: [
            { index: 1, id: second?.id, type: 'function', function: { name: 'get_time', arguments: clockArgs } },
          ],
        },
        {},
      ]);
      expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
      expect(chunks.at(-1)?.usage).toEqual((await plain(body)).usage);
    });

    it('streams a call in argument fragments in the openai dialect, which the SDK reassembles', async () => {
      const headers = { 'x-fake-dialect': 'openai' };
      const chunks = await streamed({ tools: [weather] }, headers);
      const deltas = deltasOf(chunks, 0);
      const id = (await plain({ tools: [weather] }, headers)).choices[0]?.message.tool_calls?.[0]?.id;
      expect(deltas[0]).toEqual({
        role: 'assistant',
        content: null,
        tool_calls: [{ index: 0, id, type: 'function', function: { name: 'get_weather', arguments: '' } }],
      });
      const fragments = deltas.slice(1, -1);
      expect(fragments.length).toBe(Math.ceil(weatherArgs.length / 4));
      expect(fragments.every((delta) => Object.keys(delta).join() === 'tool_calls')).toBe(true);
      expect(fragments.map((delta) => delta.tool_calls?.[0]?.index)).toEqual(fragments.map(() => 0));
      expect(fragments.map((delta) => delta.tool_calls?.[0]?.function?.arguments).join('')).toBe(weatherArgs);
      expect(fragments.every((delta) => delta.tool_calls?.[0]?.id === undefined)).toBe(true);
      expect(chunks.at(-2)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'tool_calls' });
      // OpenAI: reasoning inside completion_tokens.
      const usage = chunks.at(-1)?.usage as OpenAIUsage;
      expect(usage.completion_tokens).toBe(toolCallTokens(weatherArgs) + fakeReasoningTokens('grok-4', messages));

      const sdk = new OpenAI({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, defaultHeaders: headers });
      const final = await sdk.chat.completions
        .stream({ model: 'grok-4', messages, tools: [weather] })
        .finalChatCompletion();
      expect(final.choices[0]?.message.tool_calls?.[0]).toMatchObject({
        id,
        type: 'function',
        function: { name: 'get_weather', arguments: weatherArgs },
      });
      expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    });
  });

  describe('n choices', () => {
    it('answers n full choices, billing the prompt once and every choice’s completion and reasoning', async () => {
      const completion = await plain({ n: 2 });
      const texts = [0, 1].map((choice) => fakeCompletion(messages, { choice }).content);
      expect(completion.choices.map((choice) => [choice.index, choice.message.content, choice.finish_reason])).toEqual([
        [0, texts[0], 'stop'],
        [1, texts[1], 'stop'],
      ]);
      expect(texts[0]).toBe(fakeCompletion(messages).content);
      expect(texts[1]).toBe(`Echo: ${digest(`1:${question}`)} Lisbon weather tomorrow please`);
      const single = (await plain({})).usage as unknown as XaiUsage;
      const usage = completion.usage as unknown as XaiUsage;
      const visible = fakeCompletion(messages).completionTokens;
      const reasoning = fakeReasoningTokens('grok-4', messages);
      expect(usage.prompt_tokens).toBe(single.prompt_tokens);
      expect(usage.completion_tokens).toBe(2 * visible);
      expect(usage.completion_tokens_details.reasoning_tokens).toBe(2 * reasoning);
      expect(usage.total_tokens).toBe(usage.prompt_tokens + 2 * visible + 2 * reasoning);
      // grok-4: 30 000 ticks a prompt token, 150 000 an output token.
      expect(usage.cost_in_usd_ticks).toBe(usage.prompt_tokens * 30_000 + 2 * (visible + reasoning) * 150_000);

      const openai = (await plain({ n: 3 }, { 'x-fake-dialect': 'openai' })).usage as unknown as OpenAIUsage;
      expect(openai.completion_tokens).toBe(3 * (visible + reasoning));
      expect(openai.total_tokens).toBe(openai.prompt_tokens + 3 * (visible + reasoning));
    });

    it('interleaves the choices’ chunks by index in a stream, each with its own finish chunk', async () => {
      const chunks = await streamed({ n: 2 });
      expect(chunks.every((chunk) => chunk.choices.length <= 1)).toBe(true);
      const indexes = chunks.slice(0, -1).map((chunk) => chunk.choices[0]?.index);
      const pieces = fakeCompletion(messages).pieces.length;
      expect(indexes).toEqual(Array.from({ length: 2 * (pieces + 2) }, (_, i) => i % 2));
      for (const index of [0, 1]) {
        const deltas = deltasOf(chunks, index);
        expect(deltas.map((delta) => delta.content ?? '').join('')).toBe(
          fakeCompletion(messages, { choice: index }).content,
        );
        expect(
          chunks.filter((chunk) => chunk.choices[0]?.index === index && chunk.choices[0].finish_reason),
        ).toHaveLength(1);
      }
      expect(chunks.at(-1)?.usage).toEqual((await plain({ n: 2 })).usage);

      const final = await client.chat.completions.stream({ model: 'grok-4', messages, n: 2 }).finalChatCompletion();
      expect(final.choices.map((choice) => choice.message.content)).toEqual(
        [0, 1].map((choice) => fakeCompletion(messages, { choice }).content),
      );
    });

    it('gives every choice its own tool call ids', async () => {
      const completion = await plain({ n: 2, tools: [weather] });
      const calls = [0, 1].map((index) => callsOf(completion, index)[0]);
      expect(calls.map((call) => call?.function.arguments)).toEqual([weatherArgs, weatherArgs]);
      expect(calls[0]?.id).not.toBe(calls[1]?.id);
      expect(completion.usage?.completion_tokens).toBe(2 * toolCallTokens(weatherArgs));
    });

    it('refuses an n below 1 or not an integer with a 400 naming n', async () => {
      for (const n of [0, -1, 1.5, '2', true]) {
        const error = await refused({ n });
        expect(error.param, String(n)).toBe('n');
      }
    });
  });

  describe('logprobs', () => {
    it('carries one entry per content piece, deterministic and <= 0, with top_logprobs alternatives', async () => {
      const completion = await plain({ logprobs: true, top_logprobs: 3 });
      const logprobs = completion.choices[0]?.logprobs;
      const { pieces, content } = fakeCompletion(messages);
      expect(logprobs?.refusal).toBeNull();
      const entries = logprobs?.content ?? [];
      expect(entries.map((entry) => entry.token)).toEqual(pieces);
      expect(entries.map((entry) => entry.token).join('')).toBe(content);
      for (const entry of entries) {
        expect(entry.logprob).toBeLessThanOrEqual(0);
        expect(entry.bytes).toEqual(Array.from(Buffer.from(entry.token, 'utf8')));
        expect(entry.top_logprobs).toHaveLength(3);
        expect(entry.top_logprobs[0]).toEqual({ token: entry.token, logprob: entry.logprob, bytes: entry.bytes });
        const values = entry.top_logprobs.map((top) => top.logprob);
        expect([...values].sort((a, b) => b - a)).toEqual(values);
        expect(new Set(entry.top_logprobs.map((top) => top.token)).size).toBe(3);
      }
      expect((await plain({ logprobs: true, top_logprobs: 3 })).choices).toEqual(completion.choices);
      expect((await plain({ logprobs: true })).choices[0]?.logprobs?.content?.[0]?.top_logprobs).toEqual([]);
      expect((await plain({})).choices[0]?.logprobs).toBeNull();
      expect((await plain({ logprobs: false })).choices[0]?.logprobs).toBeNull();
    });

    it('carries each content chunk’s entry in a stream', async () => {
      const chunks = await streamed({ logprobs: true, top_logprobs: 2 });
      const expected = (await plain({ logprobs: true, top_logprobs: 2 })).choices[0]?.logprobs?.content;
      const content = chunks.filter((chunk) => chunk.choices[0]?.delta.content);
      expect(content.map((chunk) => chunk.choices[0]?.logprobs)).toEqual(
        (expected ?? []).map((entry) => ({ content: [entry], refusal: null })),
      );
      expect(chunks[0]?.choices[0]?.logprobs).toBeNull();
    });

    it('refuses top_logprobs outside 0 to 20 with a 400 naming it', async () => {
      for (const top_logprobs of [21, -1, 2.5]) {
        expect((await refused({ logprobs: true, top_logprobs })).param).toBe('top_logprobs');
      }
      expect((await refused({ logprobs: 'yes' })).param).toBe('logprobs');
    });
  });

  describe('reasoning_content', () => {
    const thinking = `Thinking about ${digest(question)} before answering.`;

    it('is returned by grok-3-mini in the xai dialect, and not by grok-4 or in the openai dialect', async () => {
      const mini = await plain({ model: 'grok-3-mini' });
      expect(mini.choices[0]?.message).toEqual({
        role: 'assistant',
        content: fakeCompletion(messages).content,
        reasoning_content: thinking,
        refusal: null,
      });
      const usage = mini.usage as unknown as XaiUsage;
      expect(usage.completion_tokens_details.reasoning_tokens).toBe(fakeReasoningTokens('grok-3-mini', messages));
      expect(usage.completion_tokens).toBe(fakeCompletion(messages).completionTokens);

      expect((await plain({ model: 'grok-4' })).choices[0]?.message).not.toHaveProperty('reasoning_content');
      const openai = await plain({ model: 'grok-3-mini' }, { 'x-fake-dialect': 'openai' });
      expect(openai.choices[0]?.message).not.toHaveProperty('reasoning_content');
      const quiet = await startFakeOpenAI({ reasoning: false });
      try {
        const res = await fetch(`${quiet.url}/chat/completions`, {
          method: 'POST',
          body: JSON.stringify({ model: 'grok-3-mini', messages }),
        });
        expect(((await res.json()) as ChatCompletion).choices[0]?.message).not.toHaveProperty('reasoning_content');
      } finally {
        await quiet.close();
      }
    });

    it('streams as deltas before the content, the reasoning tokens billed unchanged', async () => {
      const chunks = await streamed({ model: 'grok-3-mini' });
      const deltas = deltasOf(chunks, 0) as Record<string, unknown>[];
      expect(deltas[0]).toEqual({ role: 'assistant', content: '', refusal: null });
      const reasoning = deltas.slice(1, 6);
      expect(reasoning.map((delta) => delta.reasoning_content).join('')).toBe(thinking);
      expect(reasoning.every((delta) => Object.keys(delta).join() === 'reasoning_content')).toBe(true);
      expect(
        deltas
          .slice(6, -1)
          .map((delta) => delta.content)
          .join(''),
      ).toBe(fakeCompletion(messages).content);
      expect(chunks.at(-1)?.usage).toEqual((await plain({ model: 'grok-3-mini' })).usage);
    });

    it('comes before a tool call in a stream, the role on its first delta', async () => {
      const chunks = await streamed({ model: 'grok-3-mini', tools: [weather] });
      const deltas = deltasOf(chunks, 0) as Record<string, unknown>[];
      expect(deltas[0]).toEqual({ role: 'assistant', content: null, reasoning_content: 'Thinking' });
      expect(deltas[5]).toMatchObject({ tool_calls: [{ index: 0, function: { arguments: weatherArgs } }] });
    });
  });

  describe('response_format', () => {
    const schema = {
      type: 'object',
      properties: {
        city: { type: 'string' },
        temperature: { type: 'number' },
        tags: { type: 'array', items: { type: 'string' } },
        source: { $ref: '#/$defs/source' },
      },
      required: ['city', 'temperature', 'tags', 'source'],
      additionalProperties: false,
      $defs: { source: { type: 'object', properties: { name: { type: 'string' } } } },
    };

    it('answers a json_schema format with a JSON object built from the schema, plain and streamed', async () => {
      const body = {
        response_format: { type: 'json_schema', json_schema: { name: 'forecast', schema, strict: true } },
      };
      const completion = await plain(body);
      const content = completion.choices[0]?.message.content as string;
      const value = fakeSchemaValue(schema, schemaSeed(messages));
      expect(JSON.parse(content)).toEqual(value);
      expect(value).toEqual({
        city: 'Lisbon',
        temperature: expect.any(Number),
        tags: ['Lisbon'],
        source: { name: 'Lisbon' },
      });
      expect(completion.usage?.completion_tokens).toBe(Math.ceil(content.length / 4));
      const chunks = await streamed(body);
      expect(
        deltasOf(chunks, 0)
          .map((delta) => delta.content ?? '')
          .join(''),
      ).toBe(content);
    });

    it('answers json_object with a small JSON object of the reply', async () => {
      const completion = await plain({ response_format: { type: 'json_object' } });
      expect(JSON.parse(completion.choices[0]?.message.content as string)).toEqual({
        reply: fakeCompletion(messages).content,
      });
      expect((await plain({ response_format: { type: 'text' } })).choices[0]?.message.content).toBe(
        fakeCompletion(messages).content,
      );
    });

    it('refuses a malformed response_format with a 400 naming it', async () => {
      const cases: [unknown, string][] = [
        ['json', 'response_format'],
        [{ type: 'xml' }, 'response_format.type'],
        [{ type: 'json_schema' }, 'response_format.json_schema'],
        [{ type: 'json_schema', json_schema: { schema } }, 'response_format.json_schema.name'],
        [{ type: 'json_schema', json_schema: { name: 'bad name!', schema } }, 'response_format.json_schema.name'],
        [{ type: 'json_schema', json_schema: { name: 'x', schema: 'object' } }, 'response_format.json_schema.schema'],
        [{ type: 'json_schema', json_schema: { name: 'x', strict: 'yes' } }, 'response_format.json_schema.strict'],
      ];
      for (const [response_format, param] of cases) {
        expect((await refused({ response_format })).param, JSON.stringify(response_format)).toBe(param);
      }
    });
  });

  describe('recording', () => {
    it('keeps every parameter of the body as it arrived, and the raw body', async () => {
      const raw =
        '{"model":"grok-4","messages":[{"role":"user","content":"hi"}],"seed":12345678901234567890,' +
        '"top_p":0.9,"frequency_penalty":0.5,"presence_penalty":-0.5,"stop":["\\n"],"user":"u-1",' +
        '"reasoning_effort":"low","search_parameters":{"mode":"off"},"metadata":{"k":"v"},"x_custom":[1,{"a":null}],' +
        `"tools":${JSON.stringify([weather])},"tool_choice":"auto","parallel_tool_calls":true}`;
      const res = await fetch(`${fake.url}/chat/completions`, { method: 'POST', body: raw });
      expect(res.status).toBe(200);
      expect(fake.requests[0]?.rawBody).toBe(raw);
      expect(fake.requests[0]?.body).toEqual(JSON.parse(raw));
      await fetch(`${fake.url}/models`);
      expect(fake.requests[1]?.rawBody).toBe('');
    });
  });
});
